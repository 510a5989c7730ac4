import { useEffect, useMemo, useState } from 'react';
import { Notice } from '../components/Notice';
import { TimeSeriesChart, type ChartSeries } from '../components/TimeSeriesChart';
import type { EmployeeSession } from '../employeeSession';
import { useEmployeeSession } from '../hooks/employeeSession';
import { useFocusOnAppear } from '../hooks/focus';
import { useOperations } from '../hooks/operations';
import {
  clockSeconds,
  clockTick,
  formatCount,
  formatMs,
  formatRate,
  healthSummary,
  highestLag,
  latencySeries,
  latencySummary,
  latestLatency,
  minutesCovered,
  nextAnnouncement,
  POLL_INTERVAL_MS,
  shortTraceId,
  timeOf,
  type Announcement,
  type LatencyWindow,
  type Operations,
  type RecentCommand,
  type ServiceState,
} from '../operations';
import { EmployeeLoginForm } from './employee/EmployeeLoginForm';
import { SessionBar } from './employee/SessionBar';

const LOGIN_HINT =
  'How the bank runs (transfers, latency, services and their lag, the last commands) is for bank employees only. A session lasts for a limited time; after it, log in again.';

/** How the bank runs, live, for employees: the same login and session as the Employee view. */
export function OperationsView() {
  const { session, ended, changedHere, logIn, logOut, refused } = useEmployeeSession();
  return (
    <>
      <h1 tabIndex={-1}>Operations</h1>
      {session ? (
        <>
          <SessionBar session={session} onLogOut={logOut} />
          <LiveOperations session={session} focusHeading={changedHere} onRefused={refused} />
        </>
      ) : (
        <EmployeeLoginForm
          ended={ended}
          focusHeading={changedHere}
          onLogIn={logIn}
          hint={LOGIN_HINT}
        />
      )}
    </>
  );
}

interface LiveOperationsProps {
  session: EmployeeSession;
  focusHeading: boolean;
  /** The endpoint no longer accepts the session. */
  onRefused: (message: string) => void;
}

function LiveOperations({ session, focusHeading, onRefused }: LiveOperationsProps) {
  const { operations, receivedAt, error, stale, refusedSession } = useOperations(session.token);
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);
  useEffect(() => {
    if (refusedSession !== null) onRefused(refusedSession);
  }, [refusedSession, onRefused]);

  return (
    <>
      <section className="panel" aria-labelledby="now-title">
        <div className="panel-heading">
          <h2 id="now-title" ref={heading} tabIndex={-1}>
            Now
          </h2>
          <Freshness loaded={operations !== null} stale={stale} />
        </div>
        {operations ? (
          <Headline operations={operations} />
        ) : (
          !error && <p className="empty">Loading…</p>
        )}
        {receivedAt !== null && (
          <p className="hint">
            Updated at <time dateTime={operations?.at}>{clockSeconds(new Date(receivedAt))}</time>,
            every {POLL_INTERVAL_MS / 1000} seconds.
          </p>
        )}
        {error && <Notice kind="error">{error}</Notice>}
        {stale && !error && (
          <Notice kind="error">No fresh numbers for a while; still trying.</Notice>
        )}
      </section>
      {operations && (
        <>
          <LatencyPanel windows={operations.transfer_latency} />
          <ServicesPanel services={operations.services} />
          <CommandsPanel commands={operations.recent_commands} />
        </>
      )}
    </>
  );
}

/** Whether the numbers are live: announced when that changes, not at every poll. */
function Freshness({ loaded, stale }: { loaded: boolean; stale: boolean }) {
  const [state, text] = !loaded
    ? ['connecting', 'Loading…']
    : stale
      ? ['offline', 'Stale']
      : ['live', 'Live'];
  return (
    <span className={`badge badge-${state}`} role="status">
      {text}
    </span>
  );
}

function Headline({ operations }: { operations: Operations }) {
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

function LatencyPanel({ windows }: { windows: LatencyWindow[] }) {
  const minutes = minutesCovered(windows);
  // Lines differ by dash as well as color; the bars are read on the right axis.
  const { x, series } = useMemo(() => {
    const data = latencySeries(windows);
    const ms = (value: number) => formatMs(value);
    const chartSeries: ChartSeries[] = [
      {
        label: 'Transfers',
        color: '#8a96a3',
        kind: 'bars',
        axis: 'right',
        values: data.transfers,
        format: (n) => formatCount(n),
      },
      { label: 'p50', color: '#0b4f8a', values: data.p50, format: ms },
      { label: 'p95', color: '#b35c00', dash: [8, 4], values: data.p95, format: ms },
      { label: 'p99', color: '#a1261b', dash: [2, 3], values: data.p99, format: ms },
    ];
    return { x: data.x, series: chartSeries };
  }, [windows]);

  return (
    <section className="panel" aria-labelledby="latency-title">
      <h2 id="latency-title">Transfer latency, last {minutes} minutes</h2>
      <p className="hint">
        Percentiles of how long the endpoint took to answer a transfer, per 10-second window (the
        lines, in ms), and how many transfers it answered in each (the bars).
      </p>
      <TimeSeriesChart
        x={x}
        series={series}
        units={{ left: 'ms', right: 'transfers' }}
        formatTime={clockSeconds}
        formatTick={clockTick}
        label={latencySummary(windows)}
        tableCaption="Transfers and latency percentiles per 10-second window, oldest first"
      />
    </section>
  );
}

function ServicesPanel({ services }: { services: ServiceState[] }) {
  return (
    <section className="panel" aria-labelledby="services-title">
      <h2 id="services-title">Services</h2>
      <p className="hint">
        The GraphQL endpoint and the command handlers and projectors it knows;{' '}
        {healthSummary(services)}. Consumer lag: records on the service's Kafka partitions it has
        not handled yet.
      </p>
      {services.length === 0 ? (
        <p className="empty">No services reported.</p>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Services">
          <table className="services">
            <caption className="visually-hidden">Services, their health and consumer lag</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">URL</th>
                <th scope="col">Healthy</th>
                <th scope="col">Status</th>
                <th scope="col" className="number">
                  Consumer lag
                </th>
              </tr>
            </thead>
            <tbody>
              {services.map((service) => (
                <tr
                  key={`${service.name} ${service.url}`}
                  data-service={service.name}
                  data-healthy={service.healthy}
                >
                  <td data-label="Service">
                    <span className="service-name">{service.name}</span>
                  </td>
                  <td data-label="URL">
                    <span className="url">{service.url}</span>
                  </td>
                  <td data-label="Healthy">
                    <span className={service.healthy ? 'good' : 'bad'}>
                      {service.healthy ? '✓ healthy' : '✗ not healthy'}
                    </span>
                  </td>
                  <td data-label="Status">{service.status}</td>
                  <td data-label="Consumer lag" className="number">
                    {formatCount(service.consumer_lag)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Commands shown until the employee asks for all of them (the endpoint keeps 50). */
const COMMANDS_SHOWN = 10;

function CommandsPanel({ commands }: { commands: RecentCommand[] }) {
  const [showAll, setShowAll] = useState(false);
  const shown = showAll ? commands : commands.slice(0, COMMANDS_SHOWN);
  return (
    <section className="panel" aria-labelledby="commands-title">
      <h2 id="commands-title">Recent commands</h2>
      <p className="hint">
        The last commands the endpoint sent, newest first, with their outcome and trace id.
      </p>
      {commands.length === 0 ? (
        <p className="empty">No commands yet. New ones appear here as they are sent.</p>
      ) : (
        <div
          className="table-scroll commands-scroll"
          tabIndex={0}
          role="region"
          aria-label="Recent commands"
        >
          <table className="commands">
            <caption className="visually-hidden">
              The last {shown.length} commands, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Command</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
                <th scope="col">Trace id</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((command, index) => (
                <tr key={`${command.at} ${command.trace_id ?? ''} ${index}`}>
                  <td data-label="Time">
                    <time dateTime={command.at}>{timeOf(command.at)}</time>
                  </td>
                  <td data-label="Command">{command.command}</td>
                  <td data-label="Outcome">
                    <span className={`outcome ${command.outcome === 'succeeded' ? 'good' : 'bad'}`}>
                      {command.outcome === 'succeeded' ? '✓ ' : '✗ '}
                      {command.outcome}
                    </span>
                  </td>
                  <td data-label="Reason">{command.reason ?? '–'}</td>
                  <td data-label="Trace id">
                    {command.trace_id ? (
                      <code className="trace" title={command.trace_id}>
                        {shortTraceId(command.trace_id)}
                      </code>
                    ) : (
                      '–'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {commands.length > COMMANDS_SHOWN && (
        <div className="actions">
          <button
            type="button"
            className="secondary"
            aria-expanded={showAll}
            onClick={() => setShowAll(!showAll)}
          >
            {showAll ? `Show the last ${COMMANDS_SHOWN}` : `Show all ${commands.length}`}
          </button>
        </div>
      )}
    </section>
  );
}
