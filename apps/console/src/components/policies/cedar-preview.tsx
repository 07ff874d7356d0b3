import { CopyButton } from '@/components/ui/copy-button';

/** Read-only Cedar text: what the engine evaluates for this policy. */
export function CedarPreview({ cedar, title, testId = 'cedar-preview' }: { cedar: string; title: string; testId?: string }) {
  return (
    <section className="card" aria-label={title}>
      <div className="card-title-row">
        <h2 className="card-title">{title}</h2>
        <CopyButton text={cedar} label="Copy Cedar" testId={`${testId}-copy`} />
      </div>
      <pre className="code cedar" data-testid={testId}>
        {cedar}
      </pre>
    </section>
  );
}
