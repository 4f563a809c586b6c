import type { KeyUsage } from '../api/types.ts';
import { count, dayLabel } from '../ui/format.ts';

const CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
const WIDTH = 720;
const HEIGHT = 180;

/** Requests per day, stacked by status class, in plain SVG; the numbers are also in a table for screen readers. */
export function UsageChart({ days }: { days: KeyUsage['per_day'] }) {
  const max = Math.max(1, ...days.map((d) => d.total));
  const slot = WIDTH / Math.max(1, days.length);
  const bar = Math.max(2, slot * 0.7);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + 20}`} role="img" aria-label={`Requests per day over ${days.length} days, by status class`}>
        {days.map((day, index) => {
          let y = HEIGHT;
          return (
            <g key={day.day}>
              <title>{`${dayLabel(day.day)}: ${CLASSES.map((c) => `${count(day[c])} ${c}`).join(', ')}`}</title>
              {CLASSES.map((status) => {
                const height = (day[status] / max) * HEIGHT;
                y -= height;
                return height > 0 ? <rect key={status} className={`bar-${status}`} x={index * slot + (slot - bar) / 2} y={y} width={bar} height={height} /> : null;
              })}
              {/* A label a week, counted back from today so that today is always labelled. */}
              {(days.length - 1 - index) % 7 === 0 && (
                <text
                  x={index === days.length - 1 ? WIDTH : index * slot + slot / 2}
                  y={HEIGHT + 15}
                  textAnchor={index === days.length - 1 ? 'end' : 'middle'}
                  className="axis"
                >
                  {dayLabel(day.day)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {CLASSES.map((status) => (
          <span key={status}>
            <span className={`swatch bar-${status}`} aria-hidden="true" /> {status}
          </span>
        ))}
        <span className="muted">peak {count(max)} requests a day</span>
      </figcaption>
      <table className="sr-only">
        <caption>Requests per day</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {CLASSES.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.day}>
              <th scope="row">{dayLabel(day.day)}</th>
              {CLASSES.map((c) => (
                <td key={c}>{day[c]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
