import { useEffect, useId, useState } from 'react';
import { Notice } from '../../components/Notice';
import { TransactionTable } from '../../components/TransactionTable';
import { describeError } from '../../api/errors';
import { STATEMENT } from '../../api/operations';
import { useApi, useConnection } from '../../hooks/api';
import {
  monthOf,
  monthPeriod,
  statementFileName,
  statementUrl,
  LISTED_TRANSACTIONS,
  type Statement,
  type StatementFormat,
} from '../../statements';

interface Props {
  iban: string;
  /** The newest transaction streamed in for the account: a change loads the statement again. */
  newestArrivedId: number;
}

/** Hands `file` to the browser as a download. */
function saveFile(file: Blob, name: string) {
  const url = URL.createObjectURL(file);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * The monthly statement of the selected account: opening balance, every booked transaction and
 * closing balance, to download as CSV or camt.053 XML, or to print (the print style shows this
 * panel alone).
 */
export function StatementPanel({ iban, newestArrivedId }: Props) {
  const { client, endpoint, fetchWithSession } = useApi();
  const { connects } = useConnection();
  const id = useId();
  const [month, setMonth] = useState(() => monthOf(new Date()));
  const [statement, setStatement] = useState<Statement | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<StatementFormat | null>(null);
  const period = monthPeriod(month);

  useEffect(() => {
    const range = monthPeriod(month);
    if (!range) return;
    let stopped = false;
    // The statement shown stays until the next one is in: it names its own period.
    setError(null);
    void client
      .query(STATEMENT, { iban, ...range }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (stopped) return;
        if (result.error) setError(describeError(result.error, endpoint.http));
        else setStatement(result.data?.statement ?? null);
      });
    return () => {
      stopped = true;
    };
  }, [client, endpoint, iban, month, connects, newestArrivedId]);

  /** The whole statement as a file, from the endpoint's `GET /statement`. */
  async function download(format: StatementFormat) {
    if (!period) return;
    setSaving(format);
    setError(null);
    try {
      const response = await fetchWithSession(statementUrl(endpoint.http, iban, period, format));
      if (response.ok) {
        saveFile(await response.blob(), statementFileName(iban, month, format));
      } else {
        const body = (await response.json().catch(() => null)) as {
          errors?: { message?: string }[];
        } | null;
        setError(body?.errors?.[0]?.message ?? `The bank answered ${response.status}.`);
      }
    } catch {
      setError(`The bank could not be reached at ${endpoint.http}.`);
    } finally {
      setSaving(null);
    }
  }

  return (
    <section className="panel statement" aria-labelledby={`${id}-title`}>
      <div className="panel-heading">
        <h2 id={`${id}-title`}>Statement</h2>
        <div className="toolbar no-print">
          <label>
            Month{' '}
            <input
              type="month"
              name="statement-month"
              value={month}
              onChange={(event) => setMonth(event.target.value)}
            />
          </label>
        </div>
      </div>
      {!period && <Notice kind="error">Pick a month, like 2026-11.</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {period && statement === null && !error && <p className="empty">Loading the statement…</p>}
      {statement && (
        <>
          <dl className="facts" data-testid="statement-summary">
            <dt>Account</dt>
            <dd className="iban">{statement.iban}</dd>
            <dt>Period</dt>
            <dd>
              {statement.from} – {statement.to} (UTC)
            </dd>
            <dt>Opening balance</dt>
            <dd data-testid="statement-opening">{statement.opening_balance}</dd>
            <dt>Money in</dt>
            <dd data-testid="statement-credits">{statement.credits}</dd>
            <dt>Money out</dt>
            <dd data-testid="statement-debits">{statement.debits}</dd>
            <dt>Closing balance</dt>
            <dd data-testid="statement-closing">{statement.closing_balance}</dd>
          </dl>
          {statement.transaction_count > LISTED_TRANSACTIONS && (
            <p className="hint">
              The first {LISTED_TRANSACTIONS} of {statement.transaction_count} transactions; the
              files hold all of them.
            </p>
          )}
          <TransactionTable
            caption={`Booked transactions of ${statement.iban} in ${month}, oldest first`}
            transactions={statement.transactions}
            emptyText="No transactions in this month."
            className="statement-lines"
          />
          <div className="button-row no-print">
            <button type="button" disabled={saving !== null} onClick={() => void download('csv')}>
              {saving === 'csv' ? 'Preparing…' : 'Download CSV'}
            </button>
            <button
              type="button"
              disabled={saving !== null}
              onClick={() => void download('camt053')}
            >
              {saving === 'camt053' ? 'Preparing…' : 'Download camt.053 (XML)'}
            </button>
            <button type="button" className="secondary" onClick={() => window.print()}>
              Print
            </button>
          </div>
        </>
      )}
    </section>
  );
}
