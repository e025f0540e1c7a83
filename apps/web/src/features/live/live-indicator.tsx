import { useLiveUpdates } from './live-events';

/** Tells the user whether the page updates by itself or by polling. */
export function LiveIndicator() {
  const live = useLiveUpdates();
  return (
    <span
      className={live ? 'pill pill-connected' : 'pill'}
      title={live ? undefined : 'Refreshing every few seconds'}
    >
      {live ? 'Live' : 'Polling'}
    </span>
  );
}
