// The ESM entry point: the CommonJS build re-exported by name, so that `import` and `require`
// share one module instance (one addon, one registry of durable functions).
import cjs from '../dist/index.js';

export const {
  Reseolio,
  JobHandle,
  ChildHandle,
  ScheduleHandle,
  currentJob,
  jobContext,
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
} = cjs;
export default cjs;
