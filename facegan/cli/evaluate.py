"""facegan eval: quality metrics of a generator against real images, offline."""
from __future__ import annotations

import argparse

from facegan.cli.common import Command, Parents, append_to_run_metrics, generator_and_device
from facegan.data import DEFAULT_CELEBA_DIR, SYNTHETIC_COUNT
from facegan.errors import require_int_at_least
from facegan.evaluation.registry import DEFAULT_EVAL_SAMPLES, DEFAULT_METRICS, METRIC_NAMES, parse_metric_names


def add_eval_parser(sub: argparse._SubParsersAction, parents: Parents) -> argparse.ArgumentParser:
    evaluate = sub.add_parser("eval", parents=[parents.generator],
                              help="quality metrics of a generator against real images (offline)",
                              description="SWD and MS-SSIM diversity (and FID/KID with --metrics ...,fid when the "
                                          "Inception weights are present); prints a table and appends to the "
                                          "run's metrics.jsonl.")
    evaluate.add_argument("--data", help="real images: a folder or 'synthetic' (default: the run's training data)")
    evaluate.add_argument("--n", type=int, default=DEFAULT_EVAL_SAMPLES,
                          help=f"fake and real images compared, at least 2 (default {DEFAULT_EVAL_SAMPLES}; "
                               "SWD uses a capped subset of them)")
    evaluate.add_argument("--metrics", default=DEFAULT_METRICS,
                          help=f"comma-separated: {', '.join(METRIC_NAMES)} (default {DEFAULT_METRICS})")
    return evaluate


def prepare_eval(args: argparse.Namespace) -> None:
    require_int_at_least("--n", args.n, minimum=2)
    parse_metric_names(args.metrics)


def run_eval(args: argparse.Namespace) -> None:
    from facegan.data.images import load_faces
    from facegan.evaluation.evaluate import check_face_metrics_apply, evaluate, format_table
    from facegan.interop.export import export_config

    chosen = parse_metric_names(args.metrics)
    G, device = generator_and_device(args)
    arch = G.arch()
    check_face_metrics_apply(arch.get("channels", 3), arch.get("resolution", 64))  # before loading any data
    trained = export_config(args.generator)
    data = args.data or trained.get("data", DEFAULT_CELEBA_DIR)
    faces = load_faces(data, trained.get("synthetic_count", SYNTHETIC_COUNT),
                       size=arch.get("resolution"), channels=arch.get("channels", 0))
    print(f"evaluating {args.generator} against {faces.source} on {device}")
    result = evaluate(G, faces.images, args.n, chosen, data_key=faces.key, device=device)
    print(format_table(result))
    append_to_run_metrics(args.generator, {"generator": str(args.generator), "data": faces.source, **result})


COMMANDS = [Command("eval", add_eval_parser, prepare_eval, run_eval)]
