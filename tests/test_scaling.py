"""Scaling out: grid searches on a Dask cluster through joblib's Dask backend."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from skmmvae import IDMVAE, make_shared_private

distributed = pytest.importorskip("distributed")

SEARCH = dict(
    param_grid={"lambda1": [0.0, 20.0], "beta": [0.5, 1.0]}, cv=2, n_jobs=-1, error_score="raise"
)


def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        c.run(_one_thread)  # as the sequential search below: identical arithmetic
        yield c
    cluster.close()


def test_grid_search_on_a_dask_cluster_equals_the_sequential_search(client):
    X, _, _ = make_shared_private(n_samples=120, n_views=2, n_features=5, random_state=0)
    est = IDMVAE(n_shared=2, n_private=2, max_epochs=3, hidden_layer_sizes=(16,), random_state=0)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            sequential = GridSearchCV(est, **{**SEARCH, "n_jobs": 1}).fit(X)
            with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
                on_dask = GridSearchCV(est, **SEARCH).fit(X)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_dask.best_estimator_.transform(X), sequential.best_estimator_.transform(X)
    )
    # the 8 fits (4 settings x 2 folds) ran as tasks on the cluster's workers
    ran_on = {task["worker"] for task in tasks.data}
    assert len(tasks.data) >= 8 and ran_on <= set(client.scheduler_info()["workers"])


def test_unseeded_fits_on_different_workers_differ(client):
    """``random_state=None`` draws a seed in the worker's own process: two workers do
    not repeat each other's initialisation."""
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=5, random_state=0)
    est = IDMVAE(n_shared=2, n_private=2, max_epochs=1, hidden_layer_sizes=(8,))
    workers = list(client.scheduler_info()["workers"])
    fit = lambda e: e.fit(X).transform(X)  # noqa: E731
    futures = [client.submit(fit, est, workers=[w], pure=False) for w in workers]
    a, b = client.gather(futures)
    assert not np.allclose(a, b)


def test_a_fitted_estimator_travels_between_processes_without_device_state(client):
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=5, random_state=0)
    est = IDMVAE(n_shared=2, n_private=2, max_epochs=1, hidden_layer_sizes=(8,), random_state=0)
    fitted = client.submit(lambda e: e.fit(X), est).result()  # pickled back from a worker
    assert fitted.device_ == "cpu"
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))


def test_a_model_fitted_on_cuda_loads_on_a_machine_without_it(monkeypatch):
    """Unpickled where CUDA is missing, a CUDA-fitted model (its device recorded as
    'cuda') runs on the CPU, with a warning, and gives the same latents."""
    X, _, _ = make_shared_private(n_samples=60, n_views=2, n_features=5, random_state=0)
    est = IDMVAE(n_shared=2, n_private=2, max_epochs=1, hidden_layer_sizes=(8,), random_state=0)
    want = est.fit(X).transform(X)
    est.device_ = est.net_.device = "cuda"  # what a fit on a GPU records
    blob = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="fitted on 'cuda'"):
        again = pickle.loads(blob)
    assert again.device_ == "cpu"
    np.testing.assert_array_equal(again.transform(X), want)
