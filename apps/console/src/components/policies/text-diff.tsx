import { diffLines } from 'diff';

/** A line diff (the `diff` package), shown as + / - / context lines. */
export function TextDiff({ before, after, testId = 'version-diff' }: { before: string; after: string; testId?: string }) {
  const parts = diffLines(before, after);
  const changed = parts.some((part) => part.added || part.removed);
  return (
    <pre className="code diff" data-testid={testId} data-changed={changed}>
      {parts.flatMap((part, partIndex) => {
        const kind = part.added ? 'add' : part.removed ? 'del' : 'same';
        const lines = part.value.replace(/\n$/, '').split('\n');
        return lines.map((line, lineIndex) => (
          <span key={`${partIndex}-${lineIndex}`} className={`diff-line diff-${kind}`} data-testid="diff-line" data-kind={kind}>
            {kind === 'add' ? '+ ' : kind === 'del' ? '- ' : '  '}
            {line}
            {'\n'}
          </span>
        ));
      })}
      {changed ? null : <span className="muted">{'No differences.\n'}</span>}
    </pre>
  );
}
