//! A bounded job queue: promise jobs run after each `eval`/`call` under the same deadline, at most
//! [`MAX_JOBS_PER_RUN`] per run, and a reset can drop whatever is still queued.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use boa_engine::job::{GenericJob, Job, JobExecutor, PromiseJob};
use boa_engine::{Context, JsError, JsResult};

/// Most jobs one `eval` or `call` may run (a promise chain that re-queues itself forever ends here).
pub const MAX_JOBS_PER_RUN: usize = 100_000;

enum Queued {
    Promise(PromiseJob),
    Generic(GenericJob),
}

/// The job executor of every instance. Timer, async (module loading) and `FinalizationRegistry` jobs are dropped:
/// no timer API is installed, modules are not loaded, and cleanup callbacks never run.
#[derive(Default)]
pub struct Jobs {
    queue: RefCell<VecDeque<Queued>>,
}

/// Why running the queue stopped early.
pub enum JobsStop {
    /// A job failed with an uncatchable engine error (a runtime limit).
    Engine(JsError),
    /// The deadline passed.
    Deadline,
    /// The instance's heap went past the memory limit.
    Memory,
    /// [`MAX_JOBS_PER_RUN`] jobs ran and more were queued.
    TooMany,
}

impl Jobs {
    /// Number of queued jobs.
    pub fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Drops every queued job.
    pub fn clear(&self) {
        // Take the jobs out first: dropping one must not find the queue borrowed.
        let dropped = std::mem::take(&mut *self.queue.borrow_mut());
        drop(dropped);
    }

    /// Runs queued jobs (and the jobs they queue) until none is left, the deadline passes or
    /// [`MAX_JOBS_PER_RUN`] ran. A job that throws an ordinary exception is an unhandled rejection and is ignored,
    /// as in a browser; an uncatchable engine error (a runtime limit) stops the run.
    pub fn run(
        &self,
        context: &mut Context,
        deadline: Instant,
        over_memory: &dyn Fn() -> bool,
    ) -> Result<(), JobsStop> {
        let mut ran = 0usize;
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(job) = next else { return Ok(()) };
            if ran >= MAX_JOBS_PER_RUN {
                return Err(JobsStop::TooMany);
            }
            if Instant::now() >= deadline {
                return Err(JobsStop::Deadline);
            }
            if over_memory() {
                return Err(JobsStop::Memory);
            }
            ran += 1;
            let result = match job {
                Queued::Promise(job) => job.call(context),
                Queued::Generic(job) => job.call(context),
            };
            if let Err(e) = result
                && e.as_engine().is_some()
            {
                return Err(JobsStop::Engine(e));
            }
        }
    }
}

impl JobExecutor for Jobs {
    fn enqueue_job(self: Rc<Self>, job: Job, _context: &mut Context) {
        match job {
            Job::PromiseJob(job) => self.queue.borrow_mut().push_back(Queued::Promise(job)),
            Job::GenericJob(job) => self.queue.borrow_mut().push_back(Queued::Generic(job)),
            // Not supported: see the type's documentation.
            _ => {}
        }
    }

    fn run_jobs(self: Rc<Self>, context: &mut Context) -> JsResult<()> {
        // Only reached if a script-facing API asks Boa to drain the queue; the adapter runs jobs itself.
        match self.run(
            context,
            Instant::now() + std::time::Duration::from_secs(1),
            &|| false,
        ) {
            Err(JobsStop::Engine(e)) => Err(e),
            _ => Ok(()),
        }
    }
}
