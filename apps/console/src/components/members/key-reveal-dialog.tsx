'use client';

import { useEffect, useRef } from 'react';
import { useApiUrl } from '@/lib/providers';
import { CopyButton } from '@/components/ui/copy-button';
import { claudeCodeCommand, mcpClientConfig } from './mcp-config';

/**
 * Shows a new member key the one time it exists in readable form, with ready-to-paste client
 * configuration. Closing the dialog drops the key from memory.
 */
export function KeyRevealDialog({ secret, memberName, onClose }: { secret: { key: string; keyId: string; suffix: string } | null; memberName: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const apiUrl = useApiUrl();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (secret && !dialog.open) dialog.showModal();
    if (!secret && dialog.open) dialog.close();
  }, [secret]);

  const config = secret ? mcpClientConfig(apiUrl, secret.key) : '';
  const command = secret ? claudeCodeCommand(apiUrl, secret.key) : '';

  return (
    <dialog
      ref={ref}
      className="dialog dialog-wide"
      data-testid="key-dialog"
      aria-labelledby="key-dialog-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {secret ? (
        <>
          <h2 id="key-dialog-title" className="dialog-title">
            New key for {memberName}
          </h2>
          <p className="notice notice-warn">
            Copy it now: this is the only time the key is shown. Wicket stores only a digest. Any previous key of this member
            has stopped working.
          </p>
          <div className="key-box">
            <code className="mono" data-testid="member-key-value">
              {secret.key}
            </code>
            <CopyButton text={secret.key} label="Copy key" testId="copy-member-key" />
          </div>
          <p className="muted small">
            Key id <span className="mono">{secret.keyId}</span>, ends in <span className="mono">…{secret.suffix}</span>
          </p>
          <h3 className="subhead">MCP client configuration (Claude Code, Cursor)</h3>
          <pre className="code" data-testid="mcp-config-snippet">
            {config}
          </pre>
          <CopyButton text={config} label="Copy configuration" testId="copy-mcp-config" />
          <h3 className="subhead">Or with the Claude Code CLI</h3>
          <pre className="code" data-testid="mcp-cli-snippet">
            {command}
          </pre>
          <CopyButton text={command} label="Copy command" testId="copy-mcp-cli" />
          <div className="dialog-actions">
            <button type="button" className="btn btn-primary" onClick={onClose} data-testid="key-dialog-close">
              I have copied the key
            </button>
          </div>
        </>
      ) : null}
    </dialog>
  );
}
