import pino from 'pino';
import pretty from 'pino-pretty';

/**
 * Paths never written to logs: personal data (phone numbers, e-mails, message
 * bodies) and secrets. Applied to every logger of the project.
 */
export const redactPaths = [
  '*.phone',
  '*.phoneE164',
  '*.mobile',
  '*.email',
  '*.to',
  '*.body',
  '*.text',
  '*.content',
  '*.token',
  '*.password',
  '*.authorization',
  'req.headers.authorization',
  'params',
  'data',
];

/** Pino's redaction, shared by createLogger and the broker: redaction runs before formatting, so both formats hide the same fields. */
export const logRedaction = { paths: redactPaths, censor: '[redacted]' };

export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

/**
 * The one decision of the log format, for createLogger and the broker alike. An explicit LOG_FORMAT wins:
 * a launcher that pipes its children's output into its own terminal sets `pretty`, since their stdout is
 * then a pipe. Otherwise `pretty` only for a person at a terminal, and JSON for production, containers
 * and pipes (what log collectors read). A value other than json/pretty counts as unset here: loadConfig
 * already refuses it with a message naming the variable.
 */
export function logFormat(env: { LOG_FORMAT?: string; NODE_ENV?: string } = process.env, stdoutIsTTY: boolean = process.stdout.isTTY === true): LogFormat {
  const explicit = env.LOG_FORMAT;
  if (explicit === 'json' || explicit === 'pretty') return explicit;
  return stdoutIsTTY && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

/**
 * Colours only when stdout is a terminal (NO_COLOR and TERM=dumb turn them off). FORCE_COLOR turns them on
 * for a launcher that shows its piped children's output in its own terminal.
 */
export function logColors(env: NodeJS.ProcessEnv = process.env, stdoutIsTTY: boolean = process.stdout.isTTY === true): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') {
    return true;
  }
  return stdoutIsTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

// Same characters pino-pretty strips from messages: a logged value must not drive the terminal.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const clean = (value: unknown) => String(value).replace(UNSAFE, '');
const two = (n: number) => String(n).padStart(2, '0');

type Colors = Parameters<pretty.MessageFormatFunc>[3]['colors'];
const levelColor: Record<number, (c: Colors) => (s: string) => string> = {
  60: (c) => c.bgRed,
  50: (c) => c.red,
  40: (c) => c.yellow,
  30: (c) => c.green,
  20: (c) => c.blue,
  10: (c) => c.gray,
};

/**
 * `HH:MM:ss LEVEL name message`, the name being the logger's (gateway) or Moleculer's module (broker,
 * transit, a service). pino-pretty's own layout cannot show a child binding (`mod`) in place of `name`,
 * so the whole line is built here and pino-pretty adds only the remaining fields and error stacks.
 */
const formatLine: pretty.MessageFormatFunc = (log, messageKey, _levelLabel, { colors }) => {
  const time = new Date(typeof log.time === 'number' ? log.time : Date.now());
  const hms = `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`;
  const level = typeof log.level === 'number' ? log.level : 30;
  const label = (pino.levels.labels[level] ?? 'user').toUpperCase().padEnd(5);
  const tag = log.name ?? log.mod;
  const msg = log[messageKey];
  return [
    colors.gray(hms),
    (levelColor[level]?.(colors) ?? colors.white)(label),
    ...(tag === undefined ? [] : [colors.bold(clean(tag))]),
    msg === undefined ? '' : clean(msg),
  ].join(' ');
};

export interface PrettyOptions {
  /** Where lines go; stdout (synchronously) by default. */
  destination?: NodeJS.WritableStream;
  colorize?: boolean;
}

let stdoutPretty: pino.DestinationStream | undefined;

/**
 * pino-pretty as a synchronous stream in this thread, not a worker transport: no extra thread per process,
 * and a line is written before process.exit can drop it. All loggers writing to stdout share one stream.
 */
export function prettyStream({ destination, colorize }: PrettyOptions = {}): pino.DestinationStream {
  if (destination === undefined && colorize === undefined && stdoutPretty) return stdoutPretty;
  const stream = pretty({
    sync: true,
    destination: destination ?? 1,
    colorize: colorize ?? logColors(),
    singleLine: true,
    // Shown by formatLine (time, level, name/mod) or not worth a terminal column (the rest).
    ignore: 'time,level,name,mod,pid,hostname,nodeID,ns,svc,ver',
    messageFormat: formatLine,
  });
  if (destination === undefined && colorize === undefined) stdoutPretty = stream;
  return stream;
}

/** The stream for a format; undefined for JSON to stdout, which keeps pino's own (synchronous) destination. */
export function logDestination(format: LogFormat, options: PrettyOptions = {}): pino.DestinationStream | undefined {
  return format === 'pretty' ? prettyStream(options) : options.destination;
}

export interface LoggerOptions extends PrettyOptions {
  /** Defaults to logFormat() (LOG_FORMAT, else whether stdout is a terminal). */
  format?: LogFormat;
}

export function createLogger(name: string, level: string, { format = logFormat(), ...output }: LoggerOptions = {}) {
  const options = { name, level, redact: logRedaction };
  const destination = logDestination(format, output);
  return destination ? pino(options, destination) : pino(options);
}
export type PinoLogger = pino.Logger;
