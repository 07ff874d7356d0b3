export function consoleSourceHash(consoleDir: string): string;
export function isConsoleBuildCurrent(consoleDir: string): boolean;
export function markConsoleBuilt(consoleDir: string): void;
