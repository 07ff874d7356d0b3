import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured logs. Credentials never reach a log line: the redact paths below cover every place a
 * request could carry one, and use cases log ids, never secrets or tool arguments.
 */
export function createLogger(options: { level?: string; pretty?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const config: pino.LoggerOptions = {
    level: options.level ?? 'info',
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.authorization', '*.token', '*.key', '*.password', 'toolArgs', 'arguments', '*.arguments'],
      censor: '[REDACTED]',
    },
    ...(options.pretty && !options.destination ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } } : {}),
  };
  // A destination stream (tests capture log lines through one) replaces stdout.
  return options.destination ? pino(config, options.destination) : pino(config);
}
