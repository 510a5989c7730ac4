import { BANK_FIGURES } from '../api/operations';
import { Freshness } from '../components/Freshness';
import { Notice } from '../components/Notice';
import { FIGURES_POLL_MS, FIGURES_STALE_AFTER_MS, figuresSummary, formatFigure } from '../figures';
import { usePolledQuery } from '../hooks/polledQuery';
import { clockSeconds } from '../operations';

export function HomeView() {
  return (
    <>
      <h1 tabIndex={-1}>Open Bank on Kafka</h1>
      <section className="panel about" aria-labelledby="about">
        <h2 id="about">What this is</h2>
        <p>
          A demo bank whose only source of truth is Apache Kafka. Every login, deposit and transfer
          is a command on a Kafka topic; a command handler checks it against accounts rebuilt from
          earlier events and records what happened as new events; a projector turns those events
          into the transactions and balances you see, and streams them to the page as they happen.
        </p>
        <p>
          As a <a href="#/client">client</a> you open an account, deposit money and transfer it, and
          watch it happen live. As an <a href="#/employee">employee</a> you see every account and
          follow one live. Below is how big the bank is right now.
        </p>
      </section>
      <BankFiguresPanel />
    </>
  );
}

/** Bank-wide numbers only, public: no account is ever shown here. */
function BankFiguresPanel() {
  const { data, receivedAt, error, stale } = usePolledQuery(BANK_FIGURES, {
    intervalMs: FIGURES_POLL_MS,
    staleAfterMs: FIGURES_STALE_AFTER_MS,
  });
  const figures = data?.bank_figures ?? null;
  return (
    <section className="panel" aria-labelledby="figures-title">
      <div className="panel-heading">
        <h2 id="figures-title">The bank now</h2>
        <Freshness loaded={figures !== null} stale={stale} />
      </div>
      {figures ? (
        <>
          <dl className="stats" aria-describedby="figures-summary">
            <div>
              <dt>Accounts</dt>
              <dd data-testid="figure-accounts">{formatFigure(figures.accounts)}</dd>
            </div>
            <div>
              <dt>Transactions</dt>
              <dd data-testid="figure-transactions">{formatFigure(figures.transactions)}</dd>
            </div>
            <div>
              <dt>Transactions in the last minute</dt>
              <dd data-testid="figure-transactions-last-minute">
                {formatFigure(figures.transactions_last_minute)}
              </dd>
            </div>
          </dl>
          <p id="figures-summary" className="visually-hidden">
            {figuresSummary(figures)}
          </p>
        </>
      ) : (
        !error && <p className="empty">Loading…</p>
      )}
      {receivedAt !== null && (
        <p className="hint">
          Updated at {clockSeconds(new Date(receivedAt))}, every {FIGURES_POLL_MS / 1000} seconds.
        </p>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </section>
  );
}
