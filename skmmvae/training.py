"""The training engine: a skorch ``NeuralNet`` subclass fed by tensor slicing.

The estimator owns a :class:`MultimodalNet` as ``net_``. Compared with a stock
skorch net:

* batches are gathered by one index operation per view from tensors that already
  live on the training device (memory-mapped arrays stay on the host and are
  gathered per batch), instead of per-row ``__getitem__`` plus collate;
* the objective is the module's own ``forward(views, mask)``, which returns a dict
  of per-sample loss parts; ``"loss"`` is minimised and every part's epoch mean is
  written to ``history`` as ``train_<part>`` / ``valid_<part>``;
* a non-finite loss stops training with an error naming the epoch and the part, and
  so do non-finite parameters after an epoch or a non-finite loss under the final
  weights (the last optimiser step is not followed by a training forward pass);
* a module may train auxiliary networks (e.g. DMVAE's total-correlation
  discriminators) with their own optimizer, through the hooks that
  :class:`~skmmvae.module.MultimodalModule` declares: ``auxiliary_parameters()`` lists
  their parameters (excluded from the main optimizer), ``make_auxiliary_optimizer``
  builds the optimizer (``optimizer_aux_``), and ``auxiliary_loss()`` is minimised by
  it ``auxiliary_steps`` times after every main step, on inputs the module saved
  (detached) during its forward.

Everything else is skorch: callbacks (EarlyStopping, Checkpoint, LRScheduler,
GradientNormClipping, ProgressBar), history, printing, device handling.
"""

from __future__ import annotations

import contextlib
import copy
import threading

import numpy as np
import torch
from skorch import NeuralNet
from skorch.utils import TeeGenerator

from .modalities import PIXEL_SCALE

__all__ = ["ViewData", "ViewBatch", "BatchIterator", "MultimodalNet", "seeded"]

# Convolution weights in channels-last layout (4-D parameters only; MLPs are
# untouched): the GroupNorm image networks train faster on CPU, their decoders most
# (benchmarks/results/image_throughput.md).
CHANNELS_LAST = True


# torch draws from one global generator per device: seeded blocks hold this lock, so a
# seeded call gives the same result whatever other threads do (they wait their turn)
RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch inside the block and restore the global RNG state afterwards.

    Blocks are serialised across threads (``RNG_LOCK``): torch's generators are
    global, so two threads drawing at once would take each other's random numbers.
    """
    dev = torch.device(device)
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


def _writable(a):
    """torch cannot wrap read-only numpy memory; copy such arrays."""
    return a if a.flags.writeable else np.array(a)


def _pixels(batch):
    """8-bit pixel intensities as float32 in [0, 1], on the batch's device."""
    return batch.to(torch.float32).div_(PIXEL_SCALE)


class ViewBatch:
    """One minibatch: per-view tensors and the ``(B, M)`` observation mask."""

    __slots__ = ("views", "mask")

    def __init__(self, views, mask):
        self.views = views
        self.mask = mask

    def __len__(self):
        return self.mask.shape[0]


class ViewData:
    """Per-view training arrays, ready for fast batch gathering.

    Parameters
    ----------
    arrays : list of ndarray
        Network-space arrays (float32 or int64, missing rows already filled), or 8-bit
        pixel arrays (uint8), delivered as float32 ``x / 255`` batch by batch.
        ``np.memmap`` arrays stay on the host and are read batch by batch; others are
        moved to ``device`` once (8-bit pixels as 8 bits: a quarter of float32).
    mask : ndarray of bool, shape (n, M)
    device : str or torch.device
    """

    def __init__(self, arrays, mask, device):
        self.device = torch.device(device)
        self.arrays = [
            a if isinstance(a, np.memmap) else torch.as_tensor(_writable(a), device=self.device)
            for a in arrays
        ]
        self.mask = torch.as_tensor(mask, device=self.device)
        self.rows = None  # a subset's row numbers in the arrays
        self.mapped = any(isinstance(a, np.memmap) for a in self.arrays)

    def __len__(self):
        return self.mask.shape[0] if self.rows is None else len(self.rows)

    def take(self, idx):
        """The batch of rows ``idx`` (a LongTensor on ``device``)."""
        if self.rows is not None:
            idx = self.rows[idx]
        if self.mapped:  # read memory-mapped rows in file order; the batch order is free
            idx = torch.sort(idx).values
            rows = idx.cpu().numpy()
        views = [
            self._from_host(a[rows]) if isinstance(a, np.memmap) else a.index_select(0, idx)
            for a in self.arrays
        ]
        views = [_pixels(v) if v.dtype == torch.uint8 else v for v in views]
        return ViewBatch(views, self.mask.index_select(0, idx))

    def _from_host(self, rows):
        """Rows read from a memory map, on the device: through pinned (page-locked)
        memory for CUDA, so that the copy runs asynchronously."""
        batch = torch.from_numpy(np.ascontiguousarray(rows))
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        return batch.to(self.device, non_blocking=True)

    def subset(self, idx):
        """The rows ``idx`` (numpy indices) as a ViewData that shares the arrays."""
        out = copy.copy(self)
        idx = torch.as_tensor(idx, device=self.device)
        out.rows = idx if self.rows is None else self.rows[idx]
        return out


class BatchIterator:
    """Re-iterable minibatches of a :class:`ViewData` (reshuffled at every pass)."""

    def __init__(self, data, batch_size, shuffle):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        n, device = len(self.data), self.data.device
        order = torch.randperm(n, device=device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                idx = torch.arange(start, stop, device=device)
            else:
                idx = order[start:stop]
            yield self.data.take(idx), None


def _group_settings(optimizer):
    """The settings of each parameter group of ``optimizer`` (everything but the tensors)."""
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]


def _same_setting(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError, RuntimeError):
        return a is b


class MultimodalNet(NeuralNet):
    """skorch net whose module computes its own objective from ``(views, mask)``.

    ``fit`` / ``partial_fit`` take ``X = (train_data, valid_data_or_None)``, two
    :class:`ViewData` objects prepared by the estimator.
    """

    def __init__(self, module, **kwargs):
        kwargs.setdefault("train_split", None)
        super().__init__(module, criterion=None, **kwargs)

    def initialize_criterion(self):
        # The objective is the module's forward; there is no separate criterion.
        self.criterion_ = None
        return self

    def _auxiliary_parameters(self):
        return list(self.module_.auxiliary_parameters())

    def initialize_optimizer(self, triggered_directly=None):
        aux = {id(p) for p in self._auxiliary_parameters()}
        named = [(n, p) for n, p in self.get_all_learnable_params() if id(p) not in aux]
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if aux:
            self.optimizer_aux_ = self.module_.make_auxiliary_optimizer(
                self._auxiliary_parameters()
            )
        else:
            self.__dict__.pop("optimizer_aux_", None)
        # the settings each optimizer was built with, to tell later changes apart
        self._built_groups = {
            name: _group_settings(getattr(self, name))
            for name in ("optimizer_", "optimizer_aux_")
            if getattr(self, name, None) is not None
        }
        return self

    def initialize_module(self):
        super().initialize_module()
        if CHANNELS_LAST:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def replace_module(self, module, **params):
        """Continue training with ``module``, rebuilding the optimizers from ``params``.

        ``module`` must have the fitted module's structure, with its weights already
        loaded. ``params`` are net attributes (``lr``, ``optimizer``,
        ``optimizer__weight_decay``, ``batch_size``, ...). The optimizers are built
        anew from the current settings; when an optimizer's class is unchanged its
        state (e.g. Adam's moments and step counts) is carried over, and only the
        settings that changed since it was built (``lr``, ``weight_decay``, the
        auxiliary optimizer's learning rate, ...) replace the carried ones, so a
        learning rate set by a scheduler survives when ``lr`` itself did not change.
        """
        old = {
            name: getattr(self, name)
            for name in ("optimizer_", "optimizer_aux_")
            if getattr(self, name, None) is not None
        }
        previous = getattr(self, "_built_groups", {})
        for key, value in params.items():
            setattr(self, key, value)
        self.module = module
        self.module_ = module.to(self.device)
        if CHANNELS_LAST:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        self.initialize_optimizer()
        fresh = self._built_groups
        for name, old_opt in old.items():
            new_opt = getattr(self, name, None)
            if new_opt is None or type(new_opt) is not type(old_opt):
                continue
            if len(new_opt.param_groups) != len(old_opt.param_groups):
                continue
            new_opt.load_state_dict(old_opt.state_dict())
            before = previous.get(name, [{}] * len(fresh[name]))
            for group, now, then in zip(new_opt.param_groups, fresh[name], before):
                for key, value in now.items():
                    if key not in then or not _same_setting(then[key], value):
                        group[key] = value
        return self

    def _check_parameters(self, epoch):
        """Raise if a parameter of the module is NaN or infinite."""
        named = list(self.module_.named_parameters())
        if not named:
            return
        finite = torch.stack([torch.isfinite(p).all() for _, p in named]).cpu().numpy()
        if finite.all():
            return
        bad = [n for (n, _), ok in zip(named, finite) if not ok]
        parts = sorted({n.split(".")[0] for n in bad})
        shown = bad[:8] + (["..."] if len(bad) > 8 else [])
        raise FloatingPointError(
            f"Training diverged in epoch {epoch}: the parameter(s) {shown} (in {parts}) "
            "became NaN or infinite. Lower lr, add GradientNormClipping to callbacks, or "
            "check the data's scale."
        )

    def _check_final_loss(self, dataset):
        """After training: the ELBO of one batch must be finite under the final weights.

        The last optimiser step is never followed by a training forward pass, so a step
        that produced huge (finite) weights would otherwise go unnoticed. The module's
        ``elbo`` (what ``score_samples`` reports) is evaluated in eval mode: unlike the
        training objective, it changes no state of the module.
        """
        if dataset is None or len(dataset) == 0:
            return
        module = self.module_
        was_training = module.training
        n = min(len(dataset), self.batch_size)
        batch = dataset.take(torch.arange(n, device=dataset.device))
        module.train(False)
        try:
            with torch.no_grad():
                elbo = module.elbo(batch.views, batch.mask)
        finally:
            module.train(was_training)
        if torch.isfinite(elbo).all():
            return
        named = [(n, p.detach().abs().max().item()) for n, p in module.named_parameters()]
        largest = sorted(named, key=lambda t: -t[1] if np.isfinite(t[1]) else -np.inf)[:3]
        shown = ", ".join(f"{n} (max |w| = {w:.3g})" for n, w in largest)
        epoch = len(self.history)
        raise FloatingPointError(
            f"Training diverged in epoch {epoch}: after the last optimiser step the ELBO "
            f"of the training rows is NaN or infinite; the largest parameters are {shown}. "
            "Lower lr, add GradientNormClipping to callbacks, or check the data's scale."
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        super().partial_fit(X, y, classes, **fit_params)
        self._check_final_loss(X[0])
        return self

    # float16 layers (precision="16-mixed"): the loss is scaled before backward so
    # that small gradients do not flush to zero, and unscaled before the callbacks
    # (gradient clipping) and the step; set by the estimator, None otherwise
    grad_scaler = None

    def train_step(self, batch, **fit_params):
        accumulator = self.get_train_step_accumulator()
        scaler = self.grad_scaler

        def step_fn():
            self.optimizer_.zero_grad()
            step = self.train_step_single(batch, **fit_params)
            accumulator.store_step(step)
            if scaler is not None:
                scaler.unscale_(self.optimizer_)
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch,
            )
            return step["loss"]

        if scaler is None:
            self.optimizer_.step(step_fn)
        else:  # the scaler skips the step when the scaled gradients overflowed
            step_fn()
            scaler.step(self.optimizer_)
            scaler.update()
        aux = getattr(self, "optimizer_aux_", None)
        if aux is not None:
            for _ in range(self.module_.auxiliary_steps):
                aux.zero_grad()
                aux_loss = self.module_.auxiliary_loss()
                aux_loss.backward()
                aux.step()
            name = self.module_.auxiliary_name
            n = len(batch[0])
            self._part_sums[name] = self._part_sums.get(name, 0.0) + aux_loss.detach() * n
        return accumulator.get_step()

    def get_split_datasets(self, X, y=None, **fit_params):
        train, valid = X
        return train, valid

    def get_iterator(self, dataset, training=False):
        return BatchIterator(dataset, self.batch_size, shuffle=training)

    def _evaluate_parts(self, batch, training):
        self._set_training(training)
        terms = self.module_(batch.views, batch.mask)
        loss = terms["loss"].mean()
        if not torch.isfinite(loss):
            bad = [k for k, v in terms.items() if not torch.isfinite(v).all()]
            epoch = len(self.history)
            raise FloatingPointError(
                f"Training diverged in epoch {epoch}: the loss part(s) {bad} became NaN or "
                "infinite. Lower lr, add GradientNormClipping to callbacks, or check the "
                "data's scale."
            )
        sums = self._part_sums
        for name, value in terms.items():
            value = value.detach()
            sums[name] = sums.get(name, 0.0) + value.sum()
        self._part_count += len(batch)
        return loss

    def train_step_single(self, batch, **fit_params):
        batch = batch[0]
        module = self.module_
        module.set_progress(self._progress)
        loss = self._evaluate_parts(batch, training=True)
        (loss if self.grad_scaler is None else self.grad_scaler.scale(loss)).backward()
        self._progress += self._progress_step
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        with torch.no_grad():
            loss = self._evaluate_parts(batch[0], training=False)
        return {"loss": loss, "y_pred": None}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._part_sums, self._part_count = {}, 0
        if training:
            epochs_done = sum(1 for row in self.history if "train_loss" in row)
            self._progress = float(epochs_done)
            self._progress_step = 1.0 / max(len(iterator), 1)
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            self._check_parameters(len(self.history))
        count = max(self._part_count, 1)
        for name, total in self._part_sums.items():
            if name != "loss":
                self.history.record(f"{prefix}_{name}", float(total) / count)
        del self._part_sums, self._part_count
