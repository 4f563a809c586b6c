import { html, type Html } from './html.js';
import { ROLE_LABELS, USERS, type User } from './users.js';

export const PRODUCT = 'Invoicely';

type Section = 'invoices' | 'customers' | 'settings';

function layout(title: string, body: Html, user?: User, section?: Section): Html {
  const nav = (id: Section, href: string, label: string) =>
    html`<a href="${href}"${section === id ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${PRODUCT}</title>
<link rel="stylesheet" href="/styles.css">
</head>
<body>
<header class="topbar">
  <a class="brand" href="/"><span class="logo" aria-hidden="true">i</span>${PRODUCT}</a>
  ${user
    ? html`<nav class="mainnav" aria-label="Main">${nav('invoices', '/invoices', 'Invoices')}${nav('customers', '/customers', 'Customers')}${nav('settings', '/settings/api-access', 'Settings')}</nav>
  <div class="who">
    <span class="who-name">${user.name}<small>${user.account.name} · ${ROLE_LABELS[user.role]}</small></span>
    <form method="post" action="/sign-out"><button class="link-button" type="submit">Sign out</button></form>
  </div>`
    : ''}
</header>
<main class="page">
${body}
</main>
</body>
</html>
`;
}

export function signInPage(): Html {
  const choice = (user: User) => html`<li>
      <form method="post" action="/sign-in">
        <input type="hidden" name="user" value="${user.id}">
        <button type="submit" class="person">
          <span class="avatar" aria-hidden="true">${user.name.slice(0, 1)}</span>
          <span class="person-text"><strong>${user.name}</strong><small>${user.email} · ${ROLE_LABELS[user.role]}</small></span>
          <span class="chevron" aria-hidden="true">›</span>
        </button>
      </form>
    </li>`;
  return layout(
    'Sign in',
    html`<section class="card narrow sign-in">
  <h1>Sign in to ${PRODUCT}</h1>
  <p class="muted">A demo: pick who you are at Northwind Traders. No password needed.</p>
  <ul class="people">${USERS.map(choice)}</ul>
</section>`,
  );
}

const SAMPLE_INVOICES = [
  { number: 'INV-1042', customer: 'Alfreds Futterkiste', amount: '€1,290.00', due: 'Dec 12, 2026', status: 'Open' },
  { number: 'INV-1041', customer: 'Berglunds snabbköp', amount: '€640.50', due: 'Dec 5, 2026', status: 'Paid' },
  { number: 'INV-1040', customer: 'Ernst Handel', amount: '€3,120.00', due: 'Nov 28, 2026', status: 'Overdue' },
  { number: 'INV-1039', customer: 'Folk och fä HB', amount: '€215.00', due: 'Nov 20, 2026', status: 'Paid' },
];

export function invoicesPage(user: User): Html {
  return layout(
    'Invoices',
    html`<div class="page-head"><h1>Invoices</h1><span class="muted">${user.account.name}</span></div>
<section class="card">
  <div class="table-wrap">
  <table>
    <thead><tr><th>Number</th><th>Customer</th><th>Due</th><th class="num">Amount</th><th>Status</th></tr></thead>
    <tbody>${SAMPLE_INVOICES.map(
      (i) => html`<tr><td>${i.number}</td><td>${i.customer}</td><td>${i.due}</td><td class="num">${i.amount}</td><td><span class="badge ${i.status.toLowerCase()}">${i.status}</span></td></tr>`,
    )}</tbody>
  </table>
  </div>
</section>
<p class="muted">Automate this with the ${PRODUCT} API: <a href="/settings/api-access">create an API key</a>.</p>`,
    user,
    'invoices',
  );
}

export function customersPage(user: User): Html {
  return layout(
    'Customers',
    html`<div class="page-head"><h1>Customers</h1></div>
<section class="card"><ul class="plain">${[...new Set(SAMPLE_INVOICES.map((i) => i.customer))].map((c) => html`<li>${c}</li>`)}</ul></section>`,
    user,
    'customers',
  );
}

type SettingsTab = 'account' | 'api-access';

function settings(user: User, tab: SettingsTab, title: string, content: Html): Html {
  const item = (id: SettingsTab, href: string, label: string) =>
    html`<a href="${href}"${tab === id ? html` aria-current="page"` : ''}>${label}</a>`;
  return layout(
    title,
    html`<div class="page-head"><h1>Settings</h1></div>
<div class="settings">
  <nav class="subnav" aria-label="Settings">${item('account', '/settings/account', 'Account')}${item('api-access', '/settings/api-access', 'API access')}</nav>
  <div class="settings-body">${content}</div>
</div>`,
    user,
    'settings',
  );
}

export function accountPage(user: User): Html {
  return settings(
    user,
    'account',
    'Account',
    html`<section class="card">
  <h2>Account</h2>
  <dl class="facts">
    <dt>Company</dt><dd>${user.account.name}</dd>
    <dt>Account id</dt><dd><code>${user.account.id}</code></dd>
    <dt>You</dt><dd>${user.name} (${user.email})</dd>
    <dt>Your role</dt><dd>${ROLE_LABELS[user.role]}</dd>
  </dl>
</section>`,
  );
}

/** What the API access page shows: the framed key management, or why it cannot. */
export type KeyManagement = { url: string } | { failure: string };

export function apiAccessPage(user: User, keys: KeyManagement, invoicesApiUrl: string): Html {
  const example = `curl ${invoicesApiUrl}/v1/invoices \\\n  -H "Authorization: Bearer inv_live_…"`;
  return settings(
    user,
    'api-access',
    'API access',
    html`<section class="card intro">
  <div>
    <h2>API access</h2>
    <p>API keys let your own systems call the ${PRODUCT} API for ${user.account.name}: sync invoices to your ERP, record payments, build reports.
    Keys belong to the company account, so everyone on your team sees the same keys.</p>
    ${user.role === 'viewer' ? html`<p class="notice">You have read-only access: you can see the keys and their usage. Ask an admin to create, rotate or revoke keys.</p>` : ''}
  </div>
  <div class="intro-api">
    <div class="endpoint">
      <span class="label">API base URL</span>
      <code>${invoicesApiUrl}</code>
    </div>
    <pre class="example"><code>${example}</code></pre>
  </div>
</section>
<section class="keys" aria-labelledby="keys-heading">
  <div class="keys-head">
    <h2 id="keys-heading">Your API keys</h2>
    ${'url' in keys ? html`<a class="open-full" href="/settings/api-access/full-page">Open in a full page <span aria-hidden="true">↗</span></a>` : ''}
  </div>
  ${'url' in keys
    ? html`<iframe class="embed" src="${keys.url}" title="API keys of ${user.account.name}" allow="clipboard-write"></iframe>`
    : html`<div class="notice error" role="alert">
    <h3>Key management is unavailable right now</h3>
    <p>${keys.failure} Reload this page in a minute; if it keeps happening, write to support@invoicely.example.</p>
  </div>`}
</section>`,
  );
}

export function errorPage(title: string, message: string, user?: User): Html {
  return layout(title, html`<section class="card narrow"><h1>${title}</h1><p>${message}</p><p><a href="/">Back to ${PRODUCT}</a></p></section>`, user);
}
