#!/usr/bin/env bash
# test_cmd_data.sh - runner/cmd_data.c and runner/cmd_inspect.c: data synth / import / check and
# inspect, as a user runs them
. "$(dirname "$0")/../cli_lib.sh"

case_ "synth writes a dataset and says what it wrote"
maestro data synth --rows 1000 --features 8 --classes 3 --seed 7 -o a.h5
expect_exit 0
expect_stdout "a.h5: 1000 rows x 8 features, classification"
expect_file a.h5

case_ "same seed gives the same data, another seed does not"
maestro data synth --rows 1000 --features 8 --classes 3 --seed 7 -o b.h5
maestro data synth --rows 1000 --features 8 --classes 3 --seed 8 -o c.h5
run h5dump -d /X -o x_c.txt c.h5
run h5dump -d /X -o x_a.txt a.h5
run h5dump -d /X -o x_b.txt b.h5
run cmp -s x_a.txt x_b.txt
expect_exit 0
run cmp -s x_a.txt x_c.txt
[ "$RC" -ne 0 ] && ok "seed 8 differs from seed 7" || fail "seed 8 gave the same /X as seed 7"

case_ "inspect shows kind, shape and classes"
maestro inspect a.h5
expect_exit 0
expect_stdout "a.h5: dataset (format_version 1)"
expect_stdout "rows           1000"
expect_stdout "features       8"
expect_stdout "classes        3"

case_ "inspect --json has the documented keys"
maestro inspect a.h5 --json
expect_exit 0
printf '%s' "$OUT" > i.json
run python3 -c 'import json; d=json.load(open("i.json")); assert d["kind"]=="dataset" and d["format_version"]==1 and d["rows"]==1000 and d["features"]==8 and d["n_classes"]==3, d; names=[x["name"] for x in d["datasets"]]; assert "/X" in names and "/y" in names, names; x=[x for x in d["datasets"] if x["name"]=="/X"][0]; assert x["shape"]==[1000,8] and x["dtype"]=="float32", x; print("ok")'
expect_exit 0

case_ "regression synth"
maestro data synth --rows 500 --features 4 --task regression --noise 0.1 -o r.h5
expect_exit 0
maestro data check r.h5
expect_exit 0
expect_stdout "target: mean"

case_ "synth bad arguments"
maestro data synth --rows 0 --features 4 -o z.h5
expect_exit 2
expect_stderr "--rows must be an integer >= 1, got \"0\""
maestro data synth --rows 10 --features 4 --classes 1 -o z.h5
expect_exit 2
expect_stderr "--classes must be an integer >= 2"
maestro data synth --rows 10 --features 4 --noise fast -o z.h5
expect_exit 2
expect_stderr "--noise must be a number >= 0, got \"fast\""
maestro data synth --rows 10 --features 4 --task ranking -o z.h5
expect_exit 2
expect_no_file z.h5

case_ "synth into a missing folder fails cleanly"
maestro data synth --rows 10 --features 2 -o nowhere/z.h5
expect_exit 4
expect_one_line
expect_no_file nowhere

case_ "import CSV with string labels"
printf 'f1,f2,"f,3",species\n1,2,3,setosa\n4,5,6,virginica\n7,8.5,-9,setosa\n' > iris.csv
maestro data import iris.csv --label species -o iris.h5
expect_exit 0
expect_stdout "iris.h5: 3 rows x 3 features from iris.csv, classification with 2 classes"
maestro inspect iris.h5
expect_stdout "setosa, virginica"
expect_stdout "f,3"

# badcsv NAME 'csv text' 'message'
badcsv() {
  case_ "$1"
  printf "$2" > "$1.csv"
  maestro data import "$1.csv" --label y -o "$1.h5"
  expect_exit 2
  expect_stderr "$3"
  expect_one_line
  expect_no_file "$1.h5"
  run sh -c "ls | grep -c 'tmp'"
  [ "$OUT" = "0" ] && ok "no temp file left" || fail "temp file left behind"
}
badcsv ragged 'a,b,y\n1,2,0\n3,4\n' "ragged.csv:3:"
badcsv nonnumeric 'a,b,y\n1,2,0\n3,abc,1\n' "nonnumeric.csv:3:2:"
badcsv nolabel 'a,b,c\n1,2,0\n' "nolabel.csv"
badcsv empty '' "empty.csv"

case_ "check on a missing dataset"
maestro data check missing.h5
expect_exit 2
expect_stderr "missing.h5"
expect_one_line

case_ "check on a file that is not HDF5"
printf 'hello' > text.h5
maestro data check text.h5
expect_exit 2
expect_stderr "text.h5"
expect_one_line

# Malformed files as another tool would write them (Debian's h5py, system interpreter).
PY=/usr/bin/python3
craft() { run "$PY" -c "import h5py, numpy as np
f = h5py.File('$1', 'w')
f.attrs['kind'] = 'dataset'; f.attrs['format_version'] = 1
f.attrs['task'] = 'classification'; f.attrs['n_classes'] = 2
$2
f.close()"; [ "$RC" -eq 0 ] || fail "could not craft $1: $ERR"; }

case_ "check: /X missing"
craft nox.h5 "f['y'] = np.zeros(4, np.int32)"
maestro data check nox.h5
expect_exit 2
expect_stderr "nox.h5: /X"
expect_one_line

case_ "check: /X of the wrong dtype"
craft xint.h5 "f['X'] = np.zeros((4, 2), np.int32); f['y'] = np.zeros(4, np.int32)"
maestro data check xint.h5
expect_exit 2
expect_stderr "xint.h5: /X"
expect_stderr "int32"

case_ "check: /X of the wrong rank"
craft x1d.h5 "f['X'] = np.zeros(4, np.float32); f['y'] = np.zeros(4, np.int32)"
maestro data check x1d.h5
expect_exit 2
expect_stderr "x1d.h5: /X"

case_ "check: X and y lengths differ"
craft len.h5 "f['X'] = np.zeros((4, 2), np.float32); f['y'] = np.zeros(3, np.int32)"
maestro data check len.h5
expect_exit 2
expect_stderr "len.h5: /y"

case_ "check: NaN in X names row and column"
craft nan.h5 "X = np.ones((6, 3), np.float32); X[4, 2] = np.nan; f['X'] = X; f['y'] = np.zeros(6, np.int32)"
maestro data check nan.h5
expect_exit 2
expect_stderr "row 4"
expect_stderr "column 2"

case_ "check: NaN seen by one rank of three stops all with one message"
mpi 3 data check nan.h5
expect_exit 2
expect_stderr "rank 2: nan.h5: /X has NaN at row 4, column 2"
n=$(grep -c "^maestro:" "$WORK/.err")
[ "$n" -eq 1 ] && ok "printed once" || fail "printed $n times"

case_ "check: class id out of range"
craft label.h5 "f['X'] = np.ones((5, 2), np.float32); f['y'] = np.array([0, 1, 0, 7, 1], np.int32)"
maestro data check label.h5
expect_exit 2
expect_stderr "row 3"

finish
