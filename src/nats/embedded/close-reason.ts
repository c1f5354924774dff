/** Close reasons as the reference reports them in /connz `reason`. */
export const CloseReason = {
  ClientClosed: 'Client Closed',
  ProtocolViolation: 'Protocol Violation',
  AuthViolation: 'Authentication Failure',
  AuthTimeout: 'Authentication Timeout',
  SlowConsumerPending: 'Slow Consumer (Pending Bytes)',
  SlowConsumerDeadline: 'Slow Consumer (Write Deadline)',
  StaleConnection: 'Stale Connection',
  MaxConnections: 'Maximum Connections Exceeded',
  ReadError: 'Read Error',
  ServerShutdown: 'Server Shutdown',
} as const;
