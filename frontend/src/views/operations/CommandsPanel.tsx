import { useState } from 'react';
import { shortTraceId, timeOf, type RecentCommand } from '../../operations';

/** Commands shown until the employee asks for all of them (the endpoint keeps 50). */
const COMMANDS_SHOWN = 10;

export function CommandsPanel({ commands }: { commands: RecentCommand[] }) {
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
