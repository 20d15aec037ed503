/**
 * reseolio: durable functions for Node. `new Reseolio()` opens the embedded engine on
 * `sqlite://./reseolio.db`; `reseolio.durable(name, handler, options)` makes a function whose
 * calls are written as jobs before they return and run with retries, backoff and timeouts.
 */
export { Reseolio } from './client';
export type { DurableFunction, LeaderInfo, ListJobsOptions, ReseolioConfig, ReseolioEvents } from './client';
export { JobHandle } from './job';
export type { Attempt, ClaimedJob, Job, JobDetails, JobStatus, Step, StepKind, StepStatus } from './job';
export { ChildHandle } from './steps';
export type { JoinResults, StepOptions, WaitForEventOptions } from './steps';
export type { BackoffStrategy, DurableOptions, JobOptions } from './options';
export { ScheduleHandle } from './schedules';
export type {
  ListSchedulesOptions,
  MissedPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleArgs,
  ScheduleDeclaration,
  ScheduleMethods,
  ScheduleOptions,
  ScheduleSettings,
  ScheduleStatus,
  ScheduleUpdate,
  ShortcutOptions,
  ShortcutRest,
} from './schedules';
export { currentJob, jobContext } from './context';
export type { JobContext } from './context';
export {
  AlreadyExistsError,
  ConflictError,
  InternalError,
  InvalidArgumentError,
  JobCancelledError,
  JobFailedError,
  NonRetryableError,
  NotFoundError,
  ReseolioError,
  ShutDownError,
  StepError,
  StepOrderError,
  TimeoutError,
  UnavailableError,
} from './errors';
export type { ErrorCode } from './errors';
