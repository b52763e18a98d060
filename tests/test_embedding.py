"""The network's map (netlib.embedding): features, projections, separation figures, aligned epoch frames, kept epochs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from netlib.analysis.evaluation import evaluate
from netlib.checkpoint import load_checkpoint
from netlib.cli import main as netlib_cli
from netlib.data import load_mnist, synthetic_digits
from netlib.embedding.epochs import EPOCHS, epoch_file, kept_epochs, thinned
from netlib.embedding.features import features
from netlib.embedding.maps import build_map, check_n, checkpoint_map, epoch_maps
from netlib.embedding.project import align, place_near, project
from netlib.embedding.separation import knn_accuracy, separation, silhouette
from netlib.lab import catalogue

N = 300  # digits per map here: enough for the figures to mean something, cheap on 2 busy cores


@pytest.fixture(scope="module")
def mnist_test():
    images, labels = load_mnist(False)
    return images[:N].numpy(), labels[:N].numpy()


@pytest.mark.parametrize("model, width", [("residual", 512), ("inception", 1408)])
def test_features_are_the_final_layers_inputs_and_answers_match_evaluation(model, width, mnist_test):
    net, _ = load_checkpoint(catalogue.shipped_checkpoint(model))
    images, labels = mnist_test
    f = features(net, images)
    assert f.vectors.shape == (N, width)
    ev = evaluate(net, images, labels)
    assert np.array_equal(f.predictions, ev.predictions)
    assert np.allclose(f.confidence, ev.top_probs[:, 0], atol=1e-5)
    with torch.no_grad():  # the features times the last layer are the logits
        logits = net.fc(torch.from_numpy(f.vectors[:5]))
    assert np.array_equal(logits.argmax(1).numpy(), f.predictions[:5])


def test_pca_map_of_a_trained_network_separates_the_digits(mnist_test):
    net, _ = load_checkpoint(catalogue.shipped_checkpoint("residual"))
    m = build_map(net, *mnist_test, method="pca", n=N)
    assert m.points.shape == (N, 2) and m.count == N
    assert m.separation["knn_features"] > 0.9  # a 99%-accurate network's features cluster by digit
    assert 0 < m.separation["knn_map"] < 1 and -1 <= m.separation["silhouette_map"] <= 1
    assert np.allclose(m.place(m.vectors[:3]), m.points[:3], atol=1e-3)  # PCA places its own digits exactly
    d = m.to_dict()
    assert len(d["points"]) == N and d["misread"] == len(m.misread) and set(d["separation"]) == set(m.separation)


def test_an_untrained_network_separates_worse_than_a_trained_one(mnist_test):
    trained = build_map(load_checkpoint(catalogue.shipped_checkpoint("residual"))[0], *mnist_test, n=N)
    untrained = build_map(catalogue.untrained_model("residual"), *mnist_test, n=N)
    assert untrained.separation["knn_features"] < trained.separation["knn_features"]
    assert untrained.separation["silhouette_features"] < trained.separation["silhouette_features"]


def test_knn_and_silhouette_on_clusters_made_to_order():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    apart = rng.normal(size=(200, 2)) * 0.1 + labels[:, None] * 10.0
    assert knn_accuracy(apart, labels) == 1.0 and silhouette(apart, labels) > 0.9
    mixed = rng.normal(size=(200, 2))
    assert knn_accuracy(mixed, labels) < 0.3 and abs(silhouette(mixed, labels)) < 0.2
    dupes = np.zeros((30, 2))  # every digit in one place: a digit is still not its own neighbour
    assert knn_accuracy(dupes, np.repeat([0, 1, 2], 10)) <= 1.0
    assert set(separation(apart, apart, labels)) == {"knn_features", "knn_map", "silhouette_features", "silhouette_map"}


def test_align_undoes_a_turn_a_mirror_a_scale_and_a_shift():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(50, 2)).astype(np.float32)
    turn = np.array([[0.0, -1.0], [-1.0, 0.0]])  # a rotation with a mirror
    posed = ref @ turn * 3.5 + np.array([7.0, -2.0])
    assert np.allclose(align(posed, ref), ref, atol=1e-4)


def test_tsne_reports_progress_and_starts_from_a_previous_frame():
    x, _ = synthetic_digits(60, seed=3)
    vectors = x.reshape(60, -1).numpy().astype(np.float32)
    heard = []
    points, basis = project(vectors, "tsne", progress=lambda f, what: heard.append(f))
    assert points.shape == (60, 2) and basis is None
    assert heard and heard == sorted(heard) and heard[-1] == 1.0
    again, _ = project(vectors, "tsne", init=points)
    assert again.shape == (60, 2) and np.isfinite(again).all()
    near = place_near(vectors, points, vectors[:1])  # a digit placed among the others lands by its own place
    assert np.linalg.norm(near - points[0]) < np.linalg.norm(points - points.mean(0), axis=1).max()


@pytest.mark.parametrize("n", [0, 9, 10_001, 2.5, True, "20"])
def test_a_bad_number_of_digits_is_one_clear_line(n):
    with pytest.raises(ValueError, match="whole number from 10 to 10,000"):
        check_n(n)


def test_unknown_projection_is_refused():
    with pytest.raises(ValueError, match="unknown projection 'nope'"):
        checkpoint_map(catalogue.shipped_checkpoint("residual"), "nope", 20)


def test_kept_epochs_lists_only_the_writers_files_in_order(tmp_path):
    assert kept_epochs(tmp_path) == []
    folder = tmp_path / EPOCHS
    folder.mkdir()
    for e in (10, 2, 1):
        (folder / epoch_file(e)).write_bytes(b"x")
    (folder / "notes.txt").write_text("not an epoch")
    (folder / "epoch-003.pt").symlink_to(folder / epoch_file(1))
    (folder / "epoch-004.pt").mkdir()
    assert [e for e, _ in kept_epochs(tmp_path)] == [1, 2, 10]
    assert thinned(list(range(10)), 4) == [0, 3, 6, 9] and thinned([1, 2], 4) == [1, 2]


def test_keep_epochs_keeps_each_epochs_weights_and_frames_align(tmp_path, capsys):
    run = tmp_path / "run"
    code = netlib_cli.main(["train", "--model", "residual", "--synthetic", "200", "--epochs", "2", "--batch-size",
                            "50", "--keep-epochs", "--run-dir", str(run), "--quiet"])
    assert code == 0, capsys.readouterr().err
    kept = kept_epochs(run)
    assert [e for e, _ in kept] == [1, 2]
    models = [load_checkpoint(p)[0] for _, p in kept]
    last = load_checkpoint(run / "checkpoint.pt")[0]
    assert all(torch.equal(a, b) for a, b in zip(models[-1].state_dict().values(), last.state_dict().values()))
    x, y = synthetic_digits(40, seed=5)
    frames = epoch_maps(models, x.numpy(), y.numpy(), "pca", n=40)
    alone = build_map(models[0], x.numpy(), y.numpy(), "pca", n=40)
    assert np.allclose(frames[-1].points, build_map(models[-1], x.numpy(), y.numpy(), n=40).points, atol=1e-4)
    assert frames[0].separation == alone.separation  # posing a frame changes no figure
    assert frames[-1].can_place() and not frames[0].can_place()  # frames keep no features: only PCA's last places
    assert len(frames[0].vectors) == 0 and frames[-1].place(alone.vectors[:1]).shape == (1, 2)
    assert np.linalg.norm(frames[0].points - frames[1].points) <= np.linalg.norm(alone.points - frames[1].points) + 1e-3


def test_without_keep_epochs_a_run_keeps_only_its_last_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert netlib_cli.main(["train", "--model", "residual", "--synthetic", "100", "--epochs", "1", "--batch-size",
                            "50", "--run-dir", str(run), "--quiet"]) == 0, capsys.readouterr().err
    assert (run / "checkpoint.pt").is_file() and not (run / EPOCHS).exists()


def test_the_map_lessons_verdict_goes_by_the_features_knn_with_a_tie_band():
    from netlib.lab import lessons

    def fig(knn):
        return {"knn_features": knn, "knn_map": 0.5, "silhouette_features": 0.2, "silhouette_map": 0.1}
    verdict = lambda a, b: lessons.separation_answer({"inception": fig(a), "residual": fig(b)})["verdicts"]["separates"]
    assert verdict(0.95, 0.97) == lessons.RESIDUAL and verdict(0.98, 0.96) == lessons.INCEPTION
    assert verdict(0.970, 0.975) == lessons.SAME_SEPARATION
    assert lessons.separation_answer({"inception": fig(0.9)})["verdicts"]["separates"] is None


def test_keep_epochs_flows_through_the_command_line_the_queue_words_and_stored_requests():
    from netlib.cli.parser import build_parser
    from netlib.request import RunRequest, from_arguments
    from netlib.runs.command import options_from_argv

    for command in ("train", "submit"):
        args = build_parser().parse_args([command, "--model", "residual", "--keep-epochs"])
        assert from_arguments(args).keep_epochs is True
    req = RunRequest(model="residual", keep_epochs=True)
    assert "--keep-epochs" in req.command() and "--keep-epochs" not in RunRequest(model="residual").command()
    assert RunRequest(**options_from_argv(req.command()[1:])) == req
    assert RunRequest.from_dict(req.to_dict()) == req


def test_a_large_map_keeps_the_first_2000_digits_features_only_and_still_places_a_point():
    net, _ = load_checkpoint(catalogue.shipped_checkpoint("residual"))
    images, labels = load_mnist(False)
    m = build_map(net, images[:2500].numpy(), labels[:2500].numpy(), "pca", n=2500)
    assert m.count == 2500 and m.vectors.shape == (2000, 512)
    nonlinear = dataclasses.replace(m, basis=None)  # as a t-SNE map: placed among its kept digits
    assert nonlinear.place(m.vectors[:1]).shape == (1, 2)
