"""Training a request's config into its run folder: the one function the training process (`train`) and a
sweep worker (trials in its own process) both train with."""

from __future__ import annotations

from typing import Callable, Optional


def first_line(e: BaseException) -> str:
    """An exception as the one line a run's status gives as its reason."""
    return "interrupted" if isinstance(e, KeyboardInterrupt) else str(e).splitlines()[0] if str(e) else type(e).__name__


def train_into(writer, config, data, listen: Optional[Callable[[dict], dict]] = None,
               should_stop: Callable[[], bool] = lambda: False, resume: Optional[dict] = None,
               before_end: Callable[[], None] = lambda: None) -> dict:
    """fit() with every event recorded by writer (a RunWriter), its checkpoints, train state and steering
    (pause, a new rate, stop) through the run folder; fit's result. data: a Dataset, or a function that
    loads it (a failure to load fails the run like one in training). listen(event) sees each event first
    and returns the event to record (a sweep marks a stopped trial "pruned"). An exception fails the run
    with its first line and is raised again; before_end runs first (a watchdog: the failure is the last
    word). The writer is closed in every case."""
    from ..engine.loop import fit

    def on_event(event: dict) -> None:
        writer.on_event(listen(event) if listen else event)

    try:
        data = data() if callable(data) else data
        return fit(config, data, on_event=on_event, should_stop=lambda: should_stop() or writer.should_stop(),
                   on_checkpoint=writer.save, steer=writer.steering, on_train_state=writer.save_train_state,
                   resume=resume)
    except BaseException as e:
        before_end()
        writer.fail(first_line(e))
        raise
    finally:
        before_end()
        writer.close()
