/**
 * @module bench/lib/frames
 * The frames the bare baseline sends: byte for byte the shape of jobcast's `progress` and
 * `done` frames for the same job, so both servers write as many bytes per event.
 */

/**
 * A running job's progress frame as jobcast writes it, rate, ETA and stall signal included
 * (the bare server pays for the same bytes).
 */
export function progressFrame(
  jobId: string,
  seq: number,
  step: number,
  steps: number,
  at: number,
  pace: { rate?: number; etaMs?: number } = {},
): string {
  const progress = Math.round((step / steps) * 10_000) / 100;
  const paced =
    pace.rate === undefined ? '' : `,"rate":${pace.rate},"eta":"${new Date(pace.etaMs ?? at).toISOString()}"`;
  const data = `{"jobId":"${jobId}","state":"active","progress":${progress},"message":"step ${step} of ${steps}","attempt":1,"at":"${new Date(at).toISOString()}"${paced},"stalled":false}`;
  return `id: ${seq}\nevent: progress\ndata: ${data}\n\n`;
}

/**
 * A progress frame of a state change, as jobcast sends it: `active` at the start (no message
 * yet), `completed` at the end (with the last step's message, which the record keeps).
 */
export function stateFrame(
  jobId: string,
  seq: number,
  state: string,
  progress: number,
  at: number,
  message?: string,
): string {
  const said = message === undefined ? '' : `,"message":"${message}"`;
  const data = `{"jobId":"${jobId}","state":"${state}","progress":${progress}${said},"attempt":1,"at":"${new Date(at).toISOString()}"}`;
  return `id: ${seq}\nevent: progress\ndata: ${data}\n\n`;
}

export function doneFrame(jobId: string, seq: number, steps: number, at: number): string {
  const data = `{"jobId":"${jobId}","status":"completed","result":{"steps":${steps}},"at":"${new Date(at).toISOString()}"}`;
  return `id: ${seq}\nevent: done\ndata: ${data}\n\n`;
}
