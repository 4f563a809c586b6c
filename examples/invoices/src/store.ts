import { randomBytes } from 'node:crypto';

export interface Invoice {
  id: string;
  object: 'invoice';
  customer: string;
  amount_cents: number;
  currency: string;
  status: 'open' | 'paid';
  created_at: string;
  paid_at: string | null;
}

export type NewInvoice = Pick<Invoice, 'customer' | 'amount_cents' | 'currency'>;

/**
 * Invoices in memory, one book per tenant. A tenant is our customer's account id (the workspace's
 * external id in Latchkey) and the key's mode: a test key never sees live invoices, and no tenant
 * ever sees another's.
 */
export class InvoiceStore {
  private readonly books = new Map<string, Map<string, Invoice>>();

  private book(tenant: string): Map<string, Invoice> {
    let book = this.books.get(tenant);
    if (!book) this.books.set(tenant, (book = new Map()));
    return book;
  }

  list(tenant: string, limit: number): Invoice[] {
    return [...this.book(tenant).values()].reverse().slice(0, limit);
  }

  get(tenant: string, id: string): Invoice | undefined {
    return this.book(tenant).get(id);
  }

  create(tenant: string, fields: NewInvoice): Invoice {
    const invoice: Invoice = { id: `in_${randomBytes(8).toString('hex')}`, object: 'invoice', ...fields, status: 'open', created_at: new Date().toISOString(), paid_at: null };
    this.book(tenant).set(invoice.id, invoice);
    return invoice;
  }

  /** Marks an open invoice paid; answers undefined when there is no such invoice, 'already_paid' when it was. */
  pay(tenant: string, id: string): Invoice | 'already_paid' | undefined {
    const invoice = this.book(tenant).get(id);
    if (!invoice) return undefined;
    if (invoice.status === 'paid') return 'already_paid';
    invoice.status = 'paid';
    invoice.paid_at = new Date().toISOString();
    return invoice;
  }
}
