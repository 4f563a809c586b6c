import { useProduct } from '../product.ts';
import { Link } from '../ui/Link.tsx';

/** An embedded session's page its capabilities leave out (an address typed or kept from another session). */
export function CapabilityMissing({ what }: { what: string }) {
  const product = useProduct();
  return (
    <section className="card refusal" aria-labelledby="refusal-title">
      <h1 id="refusal-title">Not included in your access</h1>
      <p>
        Your access to key management does not include {what}. Ask an administrator of your {product.name} account if you need it.
      </p>
      <p>
        <Link to="/keys">Go to API keys</Link>
      </p>
    </section>
  );
}
