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
import re
import sys
import threading

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import PrintLog
from skorch.hf import AccelerateMixin
from skorch.utils import TeeGenerator

from .modalities import PIXEL_SCALE
from .objectives import across_processes

__all__ = [
    "ViewData",
    "ViewBatch",
    "BatchIterator",
    "MultimodalNet",
    "AcceleratedMultimodalNet",
    "seeded",
]

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


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


class EpochTable(PrintLog):
    """skorch's epoch table (``PrintLog``), printed only when the net is verbose, and
    without colour codes when standard output is not a terminal (a log file, a pipe)."""

    def _sink(self, text, verbose):
        if not verbose:
            return
        isatty = getattr(sys.stdout, "isatty", None)
        if not (isatty is not None and isatty()):
            text = ANSI_CODES.sub("", text)
        self.sink(text)


class MultimodalNet(NeuralNet):
    """skorch net whose module computes its own objective from ``(views, mask)``.

    ``fit`` / ``partial_fit`` take ``X = (train_data, valid_data_or_None)``, two
    :class:`ViewData` objects prepared by the estimator.
    """

    def __init__(self, module, **kwargs):
        kwargs.setdefault("train_split", None)
        super().__init__(module, criterion=None, **kwargs)

    @property
    def _default_callbacks(self):
        return [
            (name, EpochTable() if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
        ]

    def initialize_criterion(self):
        # The objective is the module's forward; there is no separate criterion.
        self.criterion_ = None
        return self

    # ---- override points (AcceleratedMultimodalNet replaces them) -------------------
    def _core(self):
        """The module itself (``module_`` may be wrapped while training, e.g. for
        distributed data parallelism or ``torch.compile``)."""
        return self.module_

    def _forward_module(self):
        """What the training and validation forward passes call: ``module_``, or its
        ``torch.compile`` version (``compile=True``; built on first use)."""
        if not self.compile:
            return self.module_
        settings = self.get_params_for("compile")
        cached = self.__dict__.get("_compiled")
        if cached is None or cached[0] is not self.module_ or cached[1] != settings:
            cached = (self.module_, settings, super().torch_compile(self.module_, "module"))
            self._compiled = cached
        return cached[2]

    def torch_compile(self, module, name):
        """skorch compiles in ``initialize_module``; here ``module_`` stays the module
        itself (its methods and attributes are the estimator's API) and only the
        training forward runs compiled (:meth:`_forward_module`)."""
        return module

    def _batch_context(self):
        """Around each forward pass: what batch-wide terms (contrastive negatives) see."""
        return contextlib.nullcontext()

    def _all_finite(self, loss):
        """Whether the batch loss is finite (in every process, for several)."""
        return bool(torch.isfinite(loss))

    def _backward(self, loss):
        loss.backward()

    def _step_main(self, step_fn):
        self.optimizer_.step(step_fn)

    def _sync_auxiliary_gradients(self, params):
        """Make the auxiliary networks' gradients those of the whole batch (a no-op in
        one process)."""

    def _reduce_parts(self, sums, count):
        """The epoch's sums of the loss parts and its row count over all processes."""
        return sums, count

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_compiled", None)  # rebuilt on the next training forward
        return state

    def _auxiliary_parameters(self):
        return list(self._core().auxiliary_parameters())

    def initialize_optimizer(self, triggered_directly=None):
        aux = {id(p) for p in self._auxiliary_parameters()}
        named = [(n, p) for n, p in self.get_all_learnable_params() if id(p) not in aux]
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if aux:
            self.optimizer_aux_ = self._core().make_auxiliary_optimizer(
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
        named = list(self._core().named_parameters())
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
        module = self._core()
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
            self._step_main(step_fn)
        else:  # the scaler skips the step when the scaled gradients overflowed
            step_fn()
            scaler.step(self.optimizer_)
            scaler.update()
        aux = getattr(self, "optimizer_aux_", None)
        if aux is not None:
            core = self._core()
            params = self._auxiliary_parameters()
            for _ in range(core.auxiliary_steps):
                aux.zero_grad()
                aux_loss = core.auxiliary_loss()
                aux_loss.backward()
                self._sync_auxiliary_gradients(params)
                aux.step()
            name = core.auxiliary_name
            n = len(batch[0])
            self._part_sums[name] = self._part_sums.get(name, 0.0) + aux_loss.detach() * n
        return accumulator.get_step()

    def get_split_datasets(self, X, y=None, **fit_params):
        train, valid = X
        return train, valid

    def get_iterator(self, dataset, training=False):
        return BatchIterator(dataset, self.batch_size, shuffle=training)

    def _evaluate_parts(self, batch, training):
        if self.module_.training != training:  # train() walks every submodule: not per batch
            self._set_training(training)
        with self._batch_context():
            terms = self._forward_module()(batch.views, batch.mask)
        loss = terms["loss"].mean()
        if not self._all_finite(loss):
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
        self._core().set_progress(self._progress)
        loss = self._evaluate_parts(batch, training=True)
        self._backward(loss if self.grad_scaler is None else self.grad_scaler.scale(loss))
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
        sums, count = self._reduce_parts(self._part_sums, self._part_count)
        for name, total in sums.items():  # the loss itself: skorch's PassthroughScoring
            if name != "loss":
                self.history.record(f"{prefix}_{name}", float(total) / max(count, 1))
        del self._part_sums, self._part_count


def print_on_main(*args, **kwargs):
    """``print`` in the main process of a distributed run (everywhere otherwise)."""
    from accelerate import PartialState

    PartialState().print(*args, **kwargs)


class ShardedBatches:
    """Minibatches of a :class:`ViewData` whose row numbers come from a data loader
    that ``accelerate`` prepared: each process gets its slice of every global batch."""

    def __init__(self, loader, data):
        self.loader = loader
        self.data = data

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for idx in self.loader:
            yield self.data.take(idx.to(self.data.device)), None


class AllGather(torch.autograd.Function):
    """The rows of every process, concatenated in rank order (equal shares), as a
    differentiable operation: the loss of each process depends on every process's
    rows, so the backward sums each row's gradient over the processes (all-reduce) and
    hands every process the gradient of its own rows."""

    @staticmethod
    def forward(ctx, rows):
        dist = torch.distributed
        rows = rows.contiguous()
        parts = [torch.empty_like(rows) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, rows)
        ctx.start, ctx.stop = dist.get_rank() * len(rows), (dist.get_rank() + 1) * len(rows)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        torch.distributed.all_reduce(grad)  # sum over the processes' losses
        return grad[ctx.start : ctx.stop]


class AcceleratedMultimodalNet(AccelerateMixin, MultimodalNet):
    """:class:`MultimodalNet` trained data-parallel through Hugging Face ``accelerate``
    (skorch's :class:`~skorch.hf.AccelerateMixin`), e.g. under ``accelerate launch``.

    What accelerate does: the process group (gloo on CPUs, NCCL on GPUs), the
    ``DistributedDataParallel`` wrapping of the module (gradients averaged across
    processes during backward), the sharding of every batch of row numbers across
    processes (``split_batches``: ``batch_size`` is the global batch) with a shuffling
    generator synchronised from the main process, and the collective reductions below.
    What this class adds to the mixin, for this library's training step:

    * the module's own objective (``forward(views, mask)``) with ``accelerator.backward``;
    * contrastive terms take their negatives from the whole batch: the forward pass
      runs with a gather of every process's rows (:class:`AllGather`; see
      :func:`skmmvae.objectives.across_processes`), as one process would see them;
    * the recorded batch losses and the loss parts' epoch sums and row counts are
      reduced over processes, so the history holds the means over all rows, the same
      in every process (accelerate completes the last global batch of an epoch with
      rows from its start, so up to ``batch_size - 1`` rows count twice);
    * a non-finite loss stops every process (the check is reduced over processes);
    * the auxiliary networks' gradients (DMVAE's discriminators, which are trained
      outside the wrapped forward) are averaged over processes before their step;
    * every process draws its own reparameterisation noise (one seed stream each,
      derived from the estimator's seed), and so its own random choices per batch
      (e.g. DMVAE's subset of views for InfoNCE);
    * after training the module and the optimizers are unwrapped (the net pickles
      without the accelerator) and a warm start prepares them again.
    """

    def initialize_callbacks(self):
        # the epoch table (printed when verbose: EpochTable) by the main process only
        self.callbacks__print_log__sink = print_on_main
        return super().initialize_callbacks()

    def _core(self):
        return self.accelerator.unwrap_model(self.module_, keep_fp32_wrapper=False)

    def _backward(self, loss):
        self.accelerator.backward(loss)

    def _batch_context(self):
        if self.accelerator.num_processes == 1:
            return contextlib.nullcontext()
        return across_processes(self._gather_rows)

    def _gather_rows(self, rows, valid):
        """Every process's share of the batch (equal sizes: accelerate completes the
        last global batch with rows from the start of the epoch), with gradients
        flowing back to the process that computed them."""
        whole = AllGather.apply(rows)
        valid_all = self.accelerator.gather(valid.to(torch.uint8)).bool()
        return whole, valid_all, torch.distributed.get_rank() * rows.shape[0]

    def _step_main(self, step_fn):
        step_fn()  # accelerate's optimizer wrapper takes no closure
        self.optimizer_.step()

    def train_step_single(self, batch, **fit_params):
        return MultimodalNet.train_step_single(self, batch, **fit_params)

    def _all_finite(self, loss):
        # one all-reduce per forward pass gives both the batch loss skorch records (the
        # mean over the processes' equal shares, so train_loss / valid_loss are global
        # means) and the finiteness check, which every process must answer alike: one
        # raising while the others wait in a collective would hang the run (a NaN or
        # infinity in any process makes the mean non-finite)
        self._batch_loss = loss.detach()
        if self.accelerator.num_processes > 1:
            self._batch_loss = self.accelerator.reduce(self._batch_loss, reduction="mean")
        return bool(torch.isfinite(self._batch_loss))

    def _global_loss(self, step):
        step["loss"] = self._batch_loss
        return step

    def train_step(self, batch, **fit_params):
        return self._global_loss(super().train_step(batch, **fit_params))

    def validation_step(self, batch, **fit_params):
        return self._global_loss(super().validation_step(batch, **fit_params))

    def _sync_auxiliary_gradients(self, params):
        if self.accelerator.num_processes == 1:
            return
        # one all-reduce of all gradients; a process whose share gave an auxiliary
        # network no gradient (e.g. no view with two observed rows) contributes zeros,
        # so every process takes part in the same collective
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        flat = self.accelerator.reduce(flat, reduction="mean")
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def _reduce_parts(self, sums, count):
        if self.accelerator.num_processes == 1:
            return sums, count
        names = sorted(sums)
        device = self.accelerator.device
        local = torch.stack(
            [torch.as_tensor(sums[n], dtype=torch.float64, device=device) for n in names]
            + [torch.tensor(float(count), dtype=torch.float64, device=device)]
        )
        total = self.accelerator.reduce(local, reduction="sum").cpu().tolist()
        return dict(zip(names, total[:-1])), total[-1]

    def get_iterator(self, dataset, training=False):
        # the loader of row numbers is built once per dataset: accelerate keeps a
        # reference to every loader it prepares
        key = (id(dataset), training)
        loaders = self.__dict__.setdefault("_loaders", {})
        if key not in loaders:
            processes = self.accelerator.num_processes
            batch_size = -(-self.batch_size // processes) * processes  # split evenly
            generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
            loader = torch.utils.data.DataLoader(
                range(len(dataset)), batch_size=batch_size, shuffle=training, generator=generator
            )
            loaders[key] = (dataset, self.accelerator.prepare_data_loader(loader))
        return ShardedBatches(loaders[key][1], dataset)

    def _unwrap_optimizers(self):
        for name in self._optimizers:
            optimizer = getattr(self, name + "_", None)
            inner = getattr(optimizer, "optimizer", None)
            if isinstance(inner, torch.optim.Optimizer):
                setattr(self, name + "_", inner)

    def _initialize_accelerator(self):
        # prepare the plain optimizers (after a warm start, or when skorch's save_params
        # re-prepares): a prepared optimizer would otherwise be wrapped twice
        if not self._wrapped_with_accelerator:
            self._unwrap_optimizers()
        return super()._initialize_accelerator()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        self._initialize_accelerator()  # a warm start: prepare again
        if self.accelerator.num_processes > 1:  # own noise per process
            seed = int(torch.randint(2**62, ())) + self.accelerator.process_index
            torch.manual_seed(seed)
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        finally:
            self._loaders = {}
            if self.unwrap_after_train:
                self._unwrap_accelerator()
                self._unwrap_optimizers()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # not unwrapped here (as the mixin does) but after partial_fit: the callbacks'
        # on_train_end runs after this one, and EarlyStopping(load_best=True) restores
        # weights that it saved from the wrapped module
        self.accelerator.wait_for_everyone()
        return MultimodalNet.on_train_end(self, net, X=X, y=y, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state["accelerator"] = None  # process-bound; the estimator sets a new one to train
        state.pop("_loaders", None)
        return state
