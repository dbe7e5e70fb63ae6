"""TensorBoard's own reader and writer, for tests/tensorboard.rs. Run once, outside the
repository's build, with the `tensorboard` package (2.21):

    # What TensorBoard reads from the files of a run of the test:
    ELEGY_TENSORBOARD_DIR=/tmp/tb cargo test --test tensorboard tensorboards_own_reader
    python tests/reference/tensorboard_read.py read /tmp/tb > tests/reference/tensorboard_readback.json

    # A file made by TensorBoard's own writer, for our reader:
    python tests/reference/tensorboard_read.py write tests/reference/tensorboard

The tests never run Python; they read the committed files.
"""

import json
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


def read(log_dir):
    parts = {}
    for part in ("train", "validation"):
        accumulator = EventAccumulator(os.path.join(log_dir, part))
        accumulator.Reload()
        parts[part] = {
            tag: [[s.step, s.value] for s in accumulator.Scalars(tag)]
            for tag in sorted(accumulator.Tags()["scalars"])
        }
    import tensorboard

    result = {"tensorboard_version": tensorboard.__version__, "scalars": parts}
    print(json.dumps(result, indent=1, sort_keys=True))


def write(folder):
    path = os.path.join(folder, "events.out.tfevents.1764770000.python-writer")
    with open(path, "wb") as f:
        writer = RecordWriter(f)
        writer.write(
            event_pb2.Event(wall_time=1764770000.0, file_version="brain.Event:2").SerializeToString()
        )
        points = [("a", 0, 0.5), ("a", 1, 0.25), ("a", 2, 0.125), ("b", 7, 0.0)]
        for tag, step, value in points:
            summary = summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
            )
            event = event_pb2.Event(wall_time=1764770001.0 + step, step=step, summary=summary)
            writer.write(event.SerializeToString())
        writer.flush()


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
