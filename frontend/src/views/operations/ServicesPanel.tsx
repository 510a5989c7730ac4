import { formatCount, healthSummary, type ServiceState } from '../../operations';

export function ServicesPanel({ services }: { services: ServiceState[] }) {
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
