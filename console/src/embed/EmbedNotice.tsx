import { useProduct } from '../product.ts';
import { isTopLevel, returnHrefOf } from './return-link.ts';

export type EmbedProblem = 'expired' | 'used' | 'invalid' | 'ended';

/** What happened, in the heading; why, in a sentence; what to do, always the same: start again from the product. */
const NOTICES: Record<EmbedProblem, { title: string; why: (product: string) => string }> = {
  expired: {
    title: 'This link has expired',
    why: () => 'A link to key management works for 5 minutes after it is made.',
  },
  used: {
    title: 'This link was already used',
    why: () => 'A link to key management opens it once. For your security, the session it opened has been ended as well.',
  },
  invalid: {
    title: 'This link is not valid',
    why: (product) => `It is incomplete or unknown: key management opens only from a link that ${product} makes for you.`,
  },
  ended: {
    title: 'Your session has ended',
    why: () => 'A key management session lasts a limited time. It also ends on a reload where the browser keeps no data for pages embedded in another site.',
  },
};

/** The clear pages of embedded key management: a link that cannot open it, or a session that is over. */
export function EmbedNotice({ problem, returnUrl }: { problem: EmbedProblem; returnUrl: string | null }) {
  const product = useProduct();
  const notice = NOTICES[problem];
  const back = isTopLevel() ? returnHrefOf(returnUrl) : null;
  return (
    <main className="auth-page">
      <section className="card auth-card embed-notice" aria-labelledby="notice-title">
        <p className="brand">{product.name}</p>
        <h1 id="notice-title">{notice.title}</h1>
        <p>{notice.why(product.name)}</p>
        <p>
          <strong>Open key management again from {product.name}</strong> to continue.
        </p>
        {back && (
          <a className="button primary" href={back}>
            Back to {product.name}
          </a>
        )}
      </section>
    </main>
  );
}
