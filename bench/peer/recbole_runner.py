"""Train and time one RecBole 1.2.1 model on exported benchmark files (RecBole's env only).

Run by bench/peer/recbole_vs_kgrec.py with RecBole's interpreter (bench/peer/setup_recbole.sh),
never with the project venv's. Reads one JSON job from argv[1], prints one JSON line that
starts with ``RESULT `` on stdout.

It drives RecBole's own API the way ``recbole.quick_start.run_recbole`` and
``Trainer.fit`` do (Config -> init_seed -> create_dataset -> data_preparation -> init_seed ->
model -> trainer), without quick_start (which imports ray for tuning) and without early
stopping, checkpoints or tensorboard, so that every epoch runs. The timed spans are exactly
``Trainer.fit``'s own: ``trainer._train_epoch(...)`` for an epoch (RecBole's "train [time]"
log line) and ``trainer._valid_epoch(...)`` for a validation (its "evaluating [time]" line,
which also spans its early-stopping bookkeeping, a few comparisons). After the last epoch
the test split is evaluated once with the same weights (``trainer.evaluate(test,
load_best_model=False)``): metrics after a fixed number of epochs, not a selected epoch.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time


def pairs_sha256(dataset) -> str:
    """The pairs of one RecBole split, back in kgrec's ids (the exported tokens), hashed as
    kgrec hashes a split (kgrec.data.split.pairs_sha256: sorted by (user, item), the users'
    then the items' little-endian int64 bytes), so the driver can check they are kgrec's."""
    import numpy as np

    ids = {}
    for field in (dataset.uid_field, dataset.iid_field):
        tokens = dataset.field2id_token[field]
        ids[field] = np.array([int(t) for t in tokens[dataset.inter_feat[field].numpy()]], dtype="<i8")
    users, items = ids[dataset.uid_field], ids[dataset.iid_field]
    order = np.lexsort((items, users))
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(users[order]).tobytes())
    h.update(np.ascontiguousarray(items[order]).tobytes())
    return h.hexdigest()


def score_given(path: str, dataset, model, trainer, valid_data, test_data) -> None:
    """Evaluate fixed embeddings (kgrec's, in kgrec ids) with RecBole's full-sort evaluation:
    ``model`` is a BPR whose tables get row ``token`` of kgrec's tables, so RecBole ranks
    with kgrec's scores, masks and splits with its own code and computes its own metrics."""
    import numpy as np
    import torch

    given = np.load(path)
    with torch.no_grad():
        for field, table, key in ((dataset.uid_field, model.user_embedding, "users"),
                                  (dataset.iid_field, model.item_embedding, "items")):
            tokens = dataset.field2id_token[field]
            kgrec_ids = np.array([int(t) for t in tokens[1:]])  # row 0 is RecBole's padding
            table.weight[1:] = torch.as_tensor(given[key][kgrec_ids])
    out = {split: {k: float(v) for k, v in
                   trainer.evaluate(data, load_best_model=False, show_progress=False).items()}
           for split, data in (("valid", valid_data), ("test", test_data))}
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    job = json.loads(sys.argv[1])
    threads = int(job["threads"])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)

    import torch
    torch.set_num_threads(threads)

    import recbole
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    config = Config(model=job["model"], dataset=job["dataset"], config_dict=job["config"])
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    trainer.eval_collector.data_collect(train_data)  # as Trainer.fit does before its loop
    if job.get("embeddings"):
        return score_given(job["embeddings"], dataset, model, trainer, valid_data, test_data)

    epochs = []
    for epoch in range(int(config["epochs"])):
        start, start_cpu = time.time(), time.process_time()  # Trainer.fit: time() around these
        loss = trainer._train_epoch(train_data, epoch, show_progress=False)
        train_s, train_cpu = time.time() - start, time.process_time() - start_cpu
        start, start_cpu = time.time(), time.process_time()
        _, valid = trainer._valid_epoch(valid_data, show_progress=False)
        eval_s, eval_cpu = time.time() - start, time.process_time() - start_cpu
        epochs.append({"epoch": epoch + 1, "train_seconds": train_s, "eval_seconds": eval_s,
                       "train_cpu": train_cpu, "eval_cpu": eval_cpu,
                       "loss": float(sum(loss) if isinstance(loss, tuple) else loss),
                       **{f"valid_{k}": float(v) for k, v in valid.items()}})
    start = time.time()
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    test_s = time.time() - start
    out = {
        "recbole": recbole.__version__, "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "users": int(dataset.user_num) - 1, "items": int(dataset.item_num) - 1,  # less padding
        "train": len(train_data._dataset), "valid": len(valid_data._dataset),
        "test": len(test_data._dataset),
        "split_sha256": {part: pairs_sha256(loader._dataset) for part, loader in
                         (("train", train_data), ("valid", valid_data), ("test", test_data))},
        "eval_users_per_batch": int(valid_data.step) if hasattr(valid_data, "step") else None,
        "epochs": epochs, "test_seconds": test_s,
        "test_metrics": {k: float(v) for k, v in test.items()},
    }
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
