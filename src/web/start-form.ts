/**
 * @module web/start-form
 * The form that starts a `simulate` job: its values checked against the inputs' own limits (the
 * first problem shown by the field's name, and focused), and the short label a job's row
 * carries ("10 steps × 200 ms · fails at 3": the job resource does not carry its input).
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */

/** The input of a `simulate` job, as the form gives it. */
export interface SimulateInput {
  steps: number;
  stepMs: number;
  failAtStep?: number;
  logSteps: boolean;
}

/** The form's values, or undefined (with the problem passed to `showError`) when one is out of range. */
export function readStartForm(form: HTMLFormElement, showError: (text: string) => void): SimulateInput | undefined {
  for (const input of Array.from(form.querySelectorAll('input'))) {
    const valid = input.checkValidity();
    input.setAttribute('aria-invalid', String(!valid));
    if (!valid) {
      const name = input.closest('label')?.querySelector('.field-label')?.firstChild?.textContent?.trim();
      showError(`${name ?? input.name}: ${input.validationMessage}`);
      input.focus();
      return undefined;
    }
  }
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
  const failAtStep = value('failAtStep');
  return {
    steps: Number(value('steps')),
    stepMs: Number(value('stepMs')),
    ...(failAtStep ? { failAtStep: Number(failAtStep) } : {}),
    logSteps: (form.elements.namedItem('logSteps') as HTMLInputElement).checked,
  };
}

/** "10 steps × 200 ms", "1 step × 0 ms · fails at 1". */
export function describeInput(input: SimulateInput): string {
  return `${input.steps} ${input.steps === 1 ? 'step' : 'steps'} × ${input.stepMs} ms${
    input.failAtStep ? ` · fails at ${input.failAtStep}` : ''
  }`;
}
