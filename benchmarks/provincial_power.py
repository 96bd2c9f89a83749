"""Real provincial statistics with known events: monthly power use of 31 provinces, scored
with the production detector in the five forms a statistics bureau publishes.

    python benchmarks/provincial_power.py --source Electricity_Consumption_by_province_2023.csv
                                          [--out DIR] [--keep]

The source is a public Wind export of NBS figures (each province's monthly electricity
consumption, 100 million kWh, 2006-03 to 2024-08; no January or February for 2023 and 2024)
kept in the ``energyandcleanair/china_co2`` repository as
``inst/csv/Electricity_Consumption_by_province_2023.csv``.  It is not ours to redistribute,
so it is not in this repository: the script reads the file as exported (header rows, then
one ``YYYY-MM`` row per month; a ``Name`` row "China: <province>: Power Consumption"; values
such as ``"1,169.00 "``) and uses the rows from 2015-01 on.

1. Builds a NAB-layout corpus (``data/<form>/<province>.csv``, ``labels/combined_windows.json``)
   in five forms, with neutral folder names (``detect-csv`` reads a path that names 累计同比 as
   declared so, and this benchmark is about what the detector makes of bare figures):

   * ``f1`` the monthly figures as published here (January and February apart), 2015-01 to
     2024-08;
   * ``f2`` the level with January and February as one figure (NBS style), 2015-02 to 2022-12;
   * ``f3`` its 当月同比 % (one decimal), from 2016;
   * ``f4`` its 累计 year-to-date total;
   * ``f5`` its 累计同比 % (one decimal), from 2016.

2. Labels the known events (decisions, also in docs/detection.md):

   * the early-2020 shock: every province, February-March 2020 (the January-February figure
     and March), whether or not its power use fell (eight provinces' fell by 10-21 %, several
     in the north-west rose: a window a detector cannot see costs every detector the same);
   * the autumn-2021 power rationing, September-October 2021, in the seven provinces where
     it was most reported (Jiangsu, Zhejiang, Guangdong, Liaoning, Jilin, Heilongjiang,
     Yunnan); their power use barely shows it;
   * the 2022 lockdowns: Shanghai April-May, Jilin March-April;
   * garbled figures, which a duty officer must see too: Xinjiang's Decembers of 2019-2021
     (745, 775 and 1,037 against about 200) and Shandong's December 2020 (1,169 against 568).

3. Runs the production detector (``python -m backend.detection.csvrun``, i.e.
   ``yunjian detect-csv``) and the shared NAB scorer, and prints per form the windows whose
   maximum score reaches 0.5 and the scored months at or above 0.5 outside every window.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCORER = Path("/work/shared/tools/nab_score.py")
FIRST = "2015-01"
RATIONING = {"Jiangsu", "Zhejiang", "Guangdong", "Liaoning", "Jilin", "Heilongjiang", "Yunnan"}
LOCKDOWNS = {"Shanghai": ("2022-04", "2022-05"), "Jilin": ("2022-03", "2022-04")}
GARBLED = {"Xinjiang": ("2019-12", "2020-12", "2021-12"), "Shandong": ("2020-12",)}
FORMS = {"f1": "monthly, January and February apart", "f2": "level, Jan-Feb as one figure",
         "f3": "当月同比 %", "f4": "累计 year-to-date total", "f5": "累计同比 %"}
ALARM = 0.5

Series = dict[tuple[int, int], float]


def read_source(path: Path) -> dict[str, Series]:
    """Province name -> {(year, month): value} from the Wind export, from FIRST on."""
    names: list[str] = []
    out: dict[str, Series] = {}
    with path.open(encoding="utf-8-sig") as fh:
        for row in csv.reader(fh):
            if row and row[0] == "Name":
                names = [c.split(":")[1].strip().replace(" ", "") for c in row[1:]]
                out = {n: {} for n in names}
            elif row and len(row[0]) == 7 and row[0][4] == "-" and row[0] >= FIRST:
                y, m = int(row[0][:4]), int(row[0][5:])
                for name, cell in zip(names, row[1:], strict=False):
                    text = cell.replace(",", "").strip()
                    if text:
                        out[name][(y, m)] = float(text)
    if not names:
        raise SystemExit(f"{path}: no 'Name' header row")
    return out


def forms(monthly: Series) -> dict[str, Series]:
    """The five published forms of one province's monthly figures (see the module doc)."""
    years = sorted({y for y, _ in monthly if all((y, m) in monthly for m in range(1, 13))})
    level: Series = {}
    for y in years:
        level[(y, 2)] = monthly[(y, 1)] + monthly[(y, 2)]
        level.update({(y, m): monthly[(y, m)] for m in range(3, 13)})
    ytd: Series = {}
    for y in years:
        total = 0.0
        for m in range(2, 13):
            total += level[(y, m)]
            ytd[(y, m)] = total

    def yoy(s: Series) -> Series:
        return {k: round(100.0 * (v / s[(k[0] - 1, k[1])] - 1.0), 1) for k, v in s.items() if (k[0] - 1, k[1]) in s}

    return {"f1": monthly, "f2": level, "f3": yoy(level), "f4": ytd, "f5": yoy(ytd)}


def windows(province: str) -> list[tuple[str, str]]:
    out = [("2020-02", "2020-03")]
    if province in RATIONING:
        out.append(("2021-09", "2021-10"))
    if province in LOCKDOWNS:
        out.append(LOCKDOWNS[province])
    out += [(m, m) for m in GARBLED.get(province, ())]
    return sorted(out)


def _stamp(y: int, m: int) -> str:
    return f"{y}-{m:02d}-01 00:00:00"


def build(source: Path, root: Path) -> dict[str, list[tuple[str, str]]]:
    labels: dict[str, list[list[str]]] = {}
    plain: dict[str, list[tuple[str, str]]] = {}
    for province, monthly in read_source(source).items():
        for form, series in forms(monthly).items():
            key = f"{form}/{province}.csv"
            (root / "data" / form).mkdir(parents=True, exist_ok=True)
            with (root / "data" / key).open("w") as fh:
                fh.write("timestamp,value\n")
                fh.writelines(f"{_stamp(*k)},{v}\n" for k, v in sorted(series.items()))
            present = {f"{y}-{m:02d}" for y, m in series}
            wins = [(a, b) for a, b in windows(province) if a in present and b in present]
            plain[key] = wins
            labels[key] = [[f"{a}-01 00:00:00.000000", f"{b}-01 00:00:00.000000"] for a, b in wins]
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels, indent=1))
    return plain


def report(results: Path, plain: dict[str, list[tuple[str, str]]]) -> None:
    """Per form: windows reaching ALARM, and scored months at ALARM or above outside them."""
    per: dict[str, list[int]] = {f: [0, 0, 0, 0] for f in FORMS}
    alarms: dict[str, list[str]] = {f: [] for f in FORMS}
    for key, wins in sorted(plain.items()):
        form, name = key.split("/")
        rows = list(csv.DictReader((results / key).open()))
        months = [r["timestamp"][:7] for r in rows]
        score = np.array([float(r["anomaly_score"]) for r in rows])
        scored = np.arange(len(rows)) >= min(750, int(0.15 * len(rows)))
        outside = scored.copy()
        for a, b in wins:
            inside = np.array([a <= mo <= b for mo in months])
            outside &= ~inside
            per[form][0] += bool((score[inside & scored] >= ALARM).any())
            per[form][1] += 1
        hit = outside & (score >= ALARM)
        per[form][2] += int(hit.sum())
        per[form][3] += int(scored.sum())
        alarms[form] += [f"{name[:-4]} {months[i]}" for i in np.flatnonzero(hit)]
    print(f"at score >= {ALARM}:")
    for form, (found, n, other, rows_scored) in per.items():
        print(f"  {form} {FORMS[form]:36s} windows {found:2d}/{n}  other alarms {other:3d} in {rows_scored} scored months")
    for form, items in alarms.items():
        print(f"  {form} other alarms: {', '.join(items)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="the Wind export (see the module doc)")
    ap.add_argument("--out", type=Path, help="corpus folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the corpus and the results")
    args = ap.parse_args(argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="provincial_power_"))
    shutil.rmtree(root / "data", ignore_errors=True)
    plain = build(args.source, root)
    results = root / "results"
    shutil.rmtree(results, ignore_errors=True)
    cmd = [sys.executable, "-m", "backend.detection.csvrun", "--input", str(root / "data"), "--output", str(results)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    print(f"{len(plain)} files, {sum(len(w) for w in plain.values())} windows")
    res = subprocess.run(
        [sys.executable, str(SCORER), "--data", str(root), "--results", str(results)],
        capture_output=True, text=True, check=True,
    )
    print("\n".join(ln for ln in res.stdout.splitlines() if ln.startswith(("NAB", "  "))))
    report(results, plain)
    if not args.keep and args.out is None:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
