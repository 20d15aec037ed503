//! The client functions: connect, enqueue, read, cancel, retry, await a result, free.

use crate::boundary::{call, check_out, read_bytes, read_str, timeout, write_out};
use crate::error::{reseolio_error, reseolio_status, Fail};
use crate::handles::{reseolio_client, Registry};
use crate::job::{job_into_raw, reseolio_enqueued, reseolio_job};
use crate::options::{connect_options, enqueue_options};
use crate::options::{reseolio_connect_options, reseolio_enqueue_options};
use reseolio_ffi::{block_on, check_blocking_allowed, Client, Job};
use std::ffi::c_char;

pub(crate) static CLIENTS: Registry<Client> = Registry::new("reseolio_client");

/// Opens a client on a storage URL: `sqlite://PATH`, `sqlite::memory:` or `postgres://...` run
/// the engine in this process; `grpc://HOST:PORT` talks to a `reseolio` sidecar. `options` may
/// be NULL. On success `*out` is a client the caller owns: free it with
/// [`reseolio_client_free`].
///
/// Blocks while the database is opened and migrated (a sidecar is connected on first use).
///
/// Errors: INVALID_ARGUMENT for a NULL or malformed URL (named in the message), an option out of
/// range, a file that is not a database; UNAVAILABLE when the database stays locked or cannot
/// be reached.
#[no_mangle]
pub extern "C" fn reseolio_connect(
    url: *const c_char,
    options: *const reseolio_connect_options,
    out: *mut reseolio_client,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        check_out(out, "out")?;
        let url = read_str(url, "url")?;
        let options = connect_options(options)?;
        // Client::connect opens the database on the calling thread; the same runtime check as
        // every other blocking call.
        check_blocking_allowed()?;
        let client = Client::connect(url, options)?;
        write_out(
            out,
            reseolio_client {
                id: CLIENTS.insert(client),
            },
        );
        Ok(())
    })
}

/// Closes the client and frees its handle; later uses of it answer INVALID_HANDLE. Embedded:
/// maintenance stops and the database closes, so shut the client's workers down first.
///
/// Blocks until closed. Errors: INVALID_HANDLE when it was freed already or never made.
#[no_mangle]
pub extern "C" fn reseolio_client_free(
    client: reseolio_client,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        let c = CLIENTS.remove(client.id)?;
        block_on(c.close())??;
        Ok(())
    })
}

/// Writes a job: durable once this returns OK. `args` are opaque bytes (by convention UTF-8
/// JSON), NULL with `args_len` 0 for none; `options` may be NULL. `*out` is caller storage.
///
/// Blocks until the job is stored. Errors: INVALID_ARGUMENT naming the field (an empty or
/// over-long name, an option out of range, args over the size limit); UNAVAILABLE (retry the
/// call; with an idempotency key a retry cannot make a second job).
#[no_mangle]
pub extern "C" fn reseolio_enqueue(
    client: reseolio_client,
    name: *const c_char,
    args: *const u8,
    args_len: usize,
    options: *const reseolio_enqueue_options,
    out: *mut reseolio_enqueued,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        check_out(out, "out")?;
        let c = CLIENTS.get(client.id)?;
        let name = read_str(name, "name")?;
        let args = read_bytes(args, args_len, "args")?;
        let options = enqueue_options(options)?;
        let e = block_on(c.enqueue(name, args, options))??;
        write_out(out, reseolio_enqueued::new(&e.job_id, e.deduplicated)?);
        Ok(())
    })
}

/// Runs one of the job calls and hands the job to the caller.
fn job_call(
    client: reseolio_client,
    id: *const c_char,
    out: *mut *mut reseolio_job,
    err: *mut *mut reseolio_error,
    op: impl FnOnce(&Client, &str) -> Result<Job, Fail>,
) -> reseolio_status {
    call(err, || {
        check_out(out, "out")?;
        let c = CLIENTS.get(client.id)?;
        let id = read_str(id, "id")?;
        let job = op(&c, id)?;
        write_out(out, job_into_raw(job));
        Ok(())
    })
}

/// Reads a job. On success `*out` is a job the caller owns ([`crate::reseolio_job_free`]).
///
/// Blocks for one read. Errors: NOT_FOUND for an unknown id; INVALID_ARGUMENT for a NULL id.
#[no_mangle]
pub extern "C" fn reseolio_get(
    client: reseolio_client,
    id: *const c_char,
    out: *mut *mut reseolio_job,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    job_call(client, id, out, err, |c, id| Ok(block_on(c.get(id))??))
}

/// Cancels a job that has not finished; a running attempt learns it at its next heartbeat.
/// `*out` is the job after the call, owned by the caller.
///
/// Blocks for one write. Errors: NOT_FOUND; CONFLICT when the job already finished.
#[no_mangle]
pub extern "C" fn reseolio_cancel(
    client: reseolio_client,
    id: *const c_char,
    out: *mut *mut reseolio_job,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    job_call(client, id, out, err, |c, id| Ok(block_on(c.cancel(id))??))
}

/// Runs a DEAD or CANCELLED job again with a fresh set of attempts. `*out` is the job after the
/// call, owned by the caller.
///
/// Blocks for one write. Errors: NOT_FOUND; CONFLICT when the job is not DEAD or CANCELLED.
#[no_mangle]
pub extern "C" fn reseolio_retry(
    client: reseolio_client,
    id: *const c_char,
    out: *mut *mut reseolio_job,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    job_call(client, id, out, err, |c, id| Ok(block_on(c.retry(id))??))
}

/// Waits until the job is SUCCESS, DEAD or CANCELLED and hands it to the caller (`*out`, owned
/// by the caller). `timeout_ms` < 0 (`RESEOLIO_WAIT_FOREVER`) waits without limit; 0 answers at
/// once. Works across restarts: the job is read from storage.
///
/// Blocks until then. Errors: TIMEOUT when the time ran out first (the job is unchanged);
/// NOT_FOUND.
#[no_mangle]
pub extern "C" fn reseolio_await_result(
    client: reseolio_client,
    id: *const c_char,
    timeout_ms: i64,
    out: *mut *mut reseolio_job,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    job_call(client, id, out, err, |c, id| {
        Ok(block_on(c.await_result(id, timeout(timeout_ms)))??)
    })
}
