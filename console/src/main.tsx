import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { EmbedApp } from './embed/EmbedApp.tsx';
import { setBasePath } from './ui/router.ts';
import './styles.css';

/** `/embed…`: a SaaS's customers manage their keys inside the SaaS's product, with no Latchkey account. */
const embedded = /^\/embed(\/|$)/.test(location.pathname);
if (embedded) {
  setBasePath('/embed');
  document.documentElement.classList.add('embed');
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(<StrictMode>{embedded ? <EmbedApp /> : <App />}</StrictMode>);
}
