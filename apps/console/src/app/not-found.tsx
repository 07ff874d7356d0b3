import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="centered" data-testid="not-found">
      <div className="card narrow">
        <h1>Not found</h1>
        <p className="muted">There is no page at this address. It may have been an agent or policy that was removed.</p>
        <Link href="/" className="btn btn-primary">
          Go to the overview
        </Link>
      </div>
    </main>
  );
}
