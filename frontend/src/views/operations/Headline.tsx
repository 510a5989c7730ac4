import { useEffect, useState } from 'react';
import {
  formatCount,
  formatMs,
  formatRate,
  highestLag,
  latestLatency,
  nextAnnouncement,
  timeOf,
  type Announcement,
  type Operations,
} from '../../operations';

export function Headline({ operations }: { operations: Operations }) {
  const { services, transfer_latency } = operations;
  const latest = latestLatency(transfer_latency);
  const healthy = services.filter((service) => service.healthy).length;
  // Read out politely: a change of health at once, the rate at most once a minute.
  const [announcement, setAnnouncement] = useState<Announcement | null>(null);
  useEffect(() => {
    setAnnouncement((previous) => nextAnnouncement(previous, operations, Date.now()));
  }, [operations]);

  return (
    <>
      <dl className="stats">
        <div>
          <dt>Transfers per second</dt>
          <dd data-testid="transfers-per-second">{formatRate(operations.transfers_per_second)}</dd>
        </div>
        {(['p50', 'p95', 'p99'] as const).map((p) => (
          <div key={p}>
            <dt>Latency {p}</dt>
            <dd data-testid={`latency-${p}`}>{formatMs(latest?.[`${p}_ms`])}</dd>
          </div>
        ))}
        <div>
          <dt>Services healthy</dt>
          <dd data-testid="services-healthy" className={healthy < services.length ? 'bad' : ''}>
            {healthy} of {services.length}
          </dd>
        </div>
        <div>
          <dt>Highest consumer lag</dt>
          <dd data-testid="highest-lag">{formatCount(highestLag(services))}</dd>
        </div>
      </dl>
      <p className="hint">
        {latest
          ? `Latency: how long the endpoint took to answer a transfer, in the latest 10-second window with transfers (from ${timeOf(latest.start)}).`
          : 'Latency: no transfers in the last minutes.'}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement?.text}
      </p>
    </>
  );
}
