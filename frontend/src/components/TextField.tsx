import { useId, type InputHTMLAttributes } from 'react';

interface Props extends Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange'> {
  label: string;
  onChange: (value: string) => void;
  /** Marks the input as wrong; a `problem` is also shown under it and announced. */
  invalid?: boolean;
  problem?: string | null;
}

/** A labelled text input, with what is wrong with it read out by screen readers. */
export function TextField({ label, onChange, invalid, problem, ...input }: Props) {
  const id = useId();
  const problemId = `${id}-problem`;
  const describedBy = [input['aria-describedby'], problem ? problemId : null]
    .filter(Boolean)
    .join(' ');
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input
        {...input}
        id={id}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={invalid || Boolean(problem) || undefined}
        aria-describedby={describedBy || undefined}
      />
      {problem && (
        <p id={problemId} className="field-problem" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}
