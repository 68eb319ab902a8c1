"""The malformed-dataset corpus: each case writes one small broken dataset and says what kgrec
must do with it (a one-line error naming the file and line, exit 2; or a documented repair
with a warning, exit 0). ``docs/reliability.md`` lists every case by its id.

Run as a script to write the whole corpus to a directory for a look by hand::

    python tests/bad_inputs/cases.py /tmp/bad-inputs
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

Content = str | bytes | None  # None: the file is absent


@dataclass(frozen=True)
class Case:
    id: str
    fmt: str
    """Format under test (the case is skipped where kgrec has no such format)."""
    what: str
    """The defect, in words (for the docs table)."""
    write: Callable[[Path], None]
    culprit: str
    """File the message must name, relative to the dataset ("" = the dataset itself)."""
    needle: str
    """Words the message must contain."""
    line: int | None = None
    """Line the message must name."""
    repair: bool = False
    """True: exit 0 with a warning (the documented repair); False: exit 2 with an error."""
    force_format: bool = False
    """Pass ``--format fmt`` (the defect would otherwise make detection fail)."""


def _write_all(root: Path, files: dict[str, Content]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _coo(pairs: list[tuple[int, int]], shape: tuple[int, int]) -> sp.coo_matrix:
    rows, cols = zip(*pairs) if pairs else ((), ())
    return sp.coo_matrix((np.ones(len(pairs), np.float32), (list(rows), list(cols))), shape=shape)


def _pkl(obj) -> bytes:
    return pickle.dumps(obj, protocol=4)


# ----------------------------------------------------------------------------- kgrec_dir

KD_TOML = """format_version = 1
num_users = 6
num_items = 5
social = true
modalities = ["image"]

[kg]
num_entities = 8
num_relations = 2
"""
KD_TRAIN = "0\t0\n0\t1\n1\t1\n1\t2\n2\t2\n2\t3\n3\t3\n3\t4\n4\t4\n4\t0\n5\t0\n5\t2\n"
KD_VALID = "0\t2\n1\t3\n2\t4\n"
KD_TEST = "0\t3\n1\t4\n3\t0\n"
KD_KG = "0\t0\t5\n1\t0\t5\n2\t1\t6\n3\t1\t7\n4\t0\t6\n"
KD_SOCIAL = "0\t1\n1\t2\n2\t0\n3\t4\n"
KD_FEATURES = np.arange(15, dtype=np.float32).reshape(5, 3)


def kgrec_dir(**changes: Content) -> Callable[[Path], None]:
    """A valid 6-user, 5-item kgrec dataset with KG, social ties and image features, with
    ``changes`` (file name -> content, None to remove; ``__`` in a name stands for ``/``)."""
    files: dict[str, Content] = {"kgrec.toml": KD_TOML, "train.tsv": KD_TRAIN, "valid.tsv": KD_VALID,
                                 "test.tsv": KD_TEST, "kg.tsv": KD_KG, "social.tsv": KD_SOCIAL,
                                 "features/image.npy": _npy(KD_FEATURES)}
    files.update({name.replace("__", "/"): value for name, value in changes.items()})
    return lambda root: _write_all(root, files)


def _features(array: np.ndarray, allow_pickle: bool = False) -> dict[str, Content]:
    return {"features__image.npy": _npy(array, allow_pickle)}


class _Payload:
    def __reduce__(self):
        return (print, ("never printed",))


def _object_array() -> np.ndarray:
    out = np.empty((5, 3), dtype=object)
    out[:] = 1.0
    out[0, 0] = _Payload()
    return out


# ----------------------------------------------------------------------------- lastfm_hetrec

LF_USERS = ("userID\tartistID\tweight\n2\t51\t10\n2\t52\t5\n3\t52\t7\n3\t53\t1\n4\t53\t9\n"
            "4\t54\t2\n5\t54\t3\n5\t51\t4\n6\t51\t8\n6\t53\t6\n2\t53\t1\n3\t54\t1\n4\t51\t1\n"
            "5\t52\t1\n6\t54\t1\n")
LF_INDEX = "51\t0\n52\t1\n53\t2\n54\t3\n"
LF_KG = "0\tgenre\t4\n1\tgenre\t4\n2\torigin\t5\n3\torigin\t5\n"
LF_FRIENDS = "userID\tfriendID\n2\t3\n3\t2\n4\t5\n"


def lastfm(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"user_artists.dat": LF_USERS, "item_index2entity_id.txt": LF_INDEX,
                                 "kg.txt": LF_KG, "user_friends.dat": LF_FRIENDS}
    files.update(changes)
    return lambda root: _write_all(root, files)


# ----------------------------------------------------------------------------- pickled formats

TRAIN_PAIRS = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 0), (4, 0), (4, 2)]
TEST_PAIRS = [(0, 2), (1, 3), (2, 0), (3, 1), (4, 3)]
VALID_PAIRS = [(0, 3), (1, 0), (2, 1)]
SHAPE = (5, 4)
DK_KG = "0 0 4\n1 0 4\n2 1 5\n3 1 5\n"


def diffkg(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"trnMat.pkl": _pkl(_coo(TRAIN_PAIRS, SHAPE)),
                                 "tstMat.pkl": _pkl(_coo(TEST_PAIRS, SHAPE)), "kg.txt": DK_KG}
    files.update(changes)
    return lambda root: _write_all(root, files)


def diffmm(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"trnMat.pkl": _pkl(_coo(TRAIN_PAIRS, SHAPE)),
                                 "valMat.pkl": _pkl(_coo(VALID_PAIRS, SHAPE)),
                                 "tstMat.pkl": _pkl(_coo(TEST_PAIRS, SHAPE)),
                                 "image_feat.npy": _npy(np.ones((4, 3), np.float32))}
    files.update(changes)
    return lambda root: _write_all(root, files)


def _recdiff_dict(**changes) -> dict:
    out = {"train": _coo(TRAIN_PAIRS, SHAPE), "val": _coo(VALID_PAIRS, SHAPE),
           "test": _coo(TEST_PAIRS, SHAPE), "trust": _coo([(0, 1), (1, 2), (3, 4)], (5, 5)),
           "userCount": 5, "itemCount": 4}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def recdiff(**changes) -> Callable[[Path], None]:
    payload = _pkl(_recdiff_dict(**changes))
    return lambda root: _write_all(root, {"dataset.pkl": payload})


def recdiff_bytes(payload: bytes) -> Callable[[Path], None]:
    return lambda root: _write_all(root, {"dataset.pkl": payload})


def _coo_with(pairs, shape, row=None, col=None) -> sp.coo_matrix:
    """A coo matrix whose index arrays are overwritten after construction (as a corrupt or
    hostile pickle could hold them, bypassing scipy's own checks)."""
    matrix = _coo(pairs, shape)
    if row is not None:
        matrix.row[0] = row
    if col is not None:
        matrix.col[0] = col
    return matrix


# ----------------------------------------------------------------------------- filmtrust, recbole, mmrec

FT_RATINGS = ("1 1 2.0\n1 2 4.0\n2 2 3.5\n2 3 1.0\n3 3 4.0\n3 1 2.5\n4 1 3.0\n4 2 0.5\n"
              "1 3 1.0\n2 1 1.0\n3 2 1.0\n4 3 1.0\n")
FT_TRUST = "1 2 1\n2 3 1\n3 4 1\n"


def filmtrust(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"ratings.txt": FT_RATINGS, "trust.txt": FT_TRUST}
    files.update(changes)
    return lambda root: _write_all(root, files)


RB_INTER = ("user_id:token\titem_id:token\trating:float\n" +
            "".join(f"u{u}\ti{i}\t1.0\n" for u, i in TRAIN_PAIRS + TEST_PAIRS))


def recbole(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"data.inter": RB_INTER}
    files.update(changes)
    return lambda root: _write_all(root, files)


MM_INTER = ("userID\titemID\tx_label\n" + "".join(f"{u}\t{i}\t0\n" for u, i in TRAIN_PAIRS)
            + "".join(f"{u}\t{i}\t2\n" for u, i in TEST_PAIRS))


def mmrec(**changes: Content) -> Callable[[Path], None]:
    files: dict[str, Content] = {"data.inter": MM_INTER,
                                 "image_feat.npy": _npy(np.ones((4, 3), np.float32))}
    files.update(changes)
    return lambda root: _write_all(root, files)


# ----------------------------------------------------------------------------- the corpus

NAN_FEATURES = KD_FEATURES.copy()
NAN_FEATURES[2, 1] = np.nan
INF_FEATURES = KD_FEATURES.copy()
INF_FEATURES[4, 0] = np.inf
LATIN1 = "0\t0\n1\t1 # caf\xe9\n".encode("latin-1")
GARBAGE = bytes(range(256)) * 4
TRUNCATED_COO = _pkl(_coo(TRAIN_PAIRS, SHAPE))[:60]
E = "error"

CASES: list[Case] = [
    # --- kgrec's own directory format
    Case("kd-wrong-column-count", "kgrec_dir", "a row with 3 columns in a 2-column table",
         kgrec_dir(**{"train.tsv": KD_TRAIN.replace("1\t1\n", "1\t1\t7\n", 1)}), "train.tsv",
         "expected 2 columns, found 3", line=3),
    Case("kd-too-few-columns", "kgrec_dir", "a row with 1 column",
         kgrec_dir(**{"test.tsv": "0\t3\n1\n3\t0\n"}), "test.tsv", "expected 2 columns, found 1", line=2),
    Case("kd-non-numeric-id", "kgrec_dir", "a user id that is not a number",
         kgrec_dir(**{"train.tsv": KD_TRAIN.replace("0\t1\n", "u0\t1\n", 1)}), "train.tsv",
         "'u0' is not an integer", line=2),
    Case("kd-float-id", "kgrec_dir", "an id written as a float",
         kgrec_dir(**{"valid.tsv": "0\t2\n1.0\t3\n"}), "valid.tsv", "'1.0' is not an integer", line=2),
    Case("kd-user-out-of-range", "kgrec_dir", "a user id >= num_users",
         kgrec_dir(**{"train.tsv": KD_TRAIN + "6\t1\n"}), "train.tsv", "user 6 out of range [0, 6)",
         line=13),
    Case("kd-item-out-of-range", "kgrec_dir", "an item id >= num_items",
         kgrec_dir(**{"test.tsv": "0\t3\n1\t5\n"}), "test.tsv", "item 5 out of range [0, 5)", line=2),
    Case("kd-negative-id", "kgrec_dir", "a negative id",
         kgrec_dir(**{"test.tsv": "0\t3\n-1\t4\n"}), "test.tsv", "negative id -1", line=2),
    Case("kd-huge-id", "kgrec_dir", "an id beyond int64",
         kgrec_dir(**{"train.tsv": KD_TRAIN + "1\t99999999999999999999\n"}), "train.tsv",
         "is not an integer", line=13),
    Case("kd-empty-train", "kgrec_dir", "an empty train.tsv",
         kgrec_dir(**{"train.tsv": ""}), "train.tsv", "no rows"),
    Case("kd-header-only", "kgrec_dir", "train.tsv with only a header row",
         kgrec_dir(**{"train.tsv": "user\titem\n"}), "train.tsv", "'user' is not an integer", line=1),
    Case("kd-duplicate-rows", "kgrec_dir", "a training pair listed twice",
         kgrec_dir(**{"train.tsv": KD_TRAIN + "2\t3\n"}), "train.tsv", "dropped 1 duplicate", repair=True),
    Case("kd-held-out-in-train", "kgrec_dir", "a test pair that is also a training pair",
         kgrec_dir(**{"test.tsv": KD_TEST + "0\t0\n"}), "test.tsv",
         "dropped 1 test pairs that are also training pairs", repair=True),
    Case("kd-social-self-loop", "kgrec_dir", "a user who trusts itself",
         kgrec_dir(**{"social.tsv": KD_SOCIAL + "5\t5\n"}), "social.tsv", "dropped 1 social self-loops",
         repair=True),
    Case("kd-user-only-in-test", "kgrec_dir", "a user with test pairs but no training pair",
         kgrec_dir(**{"train.tsv": KD_TRAIN.replace("3\t3\n3\t4\n", "")}), "",
         "cold start: 1 test pairs of users", repair=True),
    Case("kd-item-only-in-test", "kgrec_dir", "an item with test pairs but no training pair",
         kgrec_dir(**{"train.tsv": KD_TRAIN.replace("3\t4\n", "").replace("4\t4\n", ""),
                      "valid.tsv": "0\t2\n1\t3\n"}), "", "cold start: 1 test pairs of items",
         repair=True),
    Case("kd-features-wrong-rows", "kgrec_dir", "a feature matrix with fewer rows than items",
         kgrec_dir(**_features(KD_FEATURES[:3])), "features/image.npy", "has 3 rows, expected one per item"),
    Case("kd-features-1d", "kgrec_dir", "a 1-d feature array",
         kgrec_dir(**_features(KD_FEATURES[:, 0])), "features/image.npy", "must be 2-d"),
    Case("kd-features-nan", "kgrec_dir", "a NaN in a feature matrix",
         kgrec_dir(**_features(NAN_FEATURES)), "features/image.npy", "non-finite value (NaN or inf) in row 2"),
    Case("kd-features-inf", "kgrec_dir", "an inf in a feature matrix",
         kgrec_dir(**_features(INF_FEATURES)), "features/image.npy", "non-finite value (NaN or inf) in row 4"),
    Case("kd-features-object-npy", "kgrec_dir", "a .npy of pickled Python objects",
         kgrec_dir(**_features(_object_array(), allow_pickle=True)), "features/image.npy",
         "not a numeric .npy array"),
    Case("kd-features-truncated", "kgrec_dir", "a truncated .npy",
         kgrec_dir(**{"features__image.npy": _npy(KD_FEATURES)[:100]}), "features/image.npy",
         "not a numeric .npy array"),
    Case("kd-features-text", "kgrec_dir", "a text file named .npy",
         kgrec_dir(**{"features__image.npy": "1 2 3\n"}), "features/image.npy", "not a numeric .npy array"),
    Case("kd-latin1", "kgrec_dir", "a latin-1 byte in a table",
         kgrec_dir(**{"train.tsv": LATIN1}), "train.tsv", "not UTF-8 text (byte 0xe9)", line=2),
    Case("kd-binary-garbage", "kgrec_dir", "binary garbage instead of a table",
         kgrec_dir(**{"valid.tsv": GARBAGE}), "valid.tsv", "not UTF-8 text (byte 0x80)", line=2),
    Case("kd-missing-train", "kgrec_dir", "neither train.tsv nor interactions.tsv",
         kgrec_dir(**{"train.tsv": None}), "train.tsv", "missing"),
    Case("kd-missing-features", "kgrec_dir", "a listed modality without its .npy",
         kgrec_dir(**{"features__image.npy": None}), "features/image.npy", "missing"),
    Case("kd-missing-kg", "kgrec_dir", "a [kg] table without kg.tsv",
         kgrec_dir(**{"kg.tsv": None}), "kg.tsv", "missing"),
    Case("kd-unlisted-social", "kgrec_dir", "social.tsv present but not in the manifest",
         kgrec_dir(**{"kgrec.toml": KD_TOML.replace("social = true\n", "")}), "social.tsv",
         "does not list it"),
    Case("kd-kg-not-linked", "kgrec_dir", "a KG none of whose triples touches an item's entity",
         kgrec_dir(**{"kg.tsv": "5\t0\t6\n6\t1\t7\n"}), "kg.tsv", "does not link to the items"),
    Case("kd-kg-relation-out-of-range", "kgrec_dir", "a relation id >= num_relations",
         kgrec_dir(**{"kg.tsv": KD_KG.replace("2\t1\t6", "2\t2\t6")}), "kg.tsv",
         "relation 2 out of range [0, 2)", line=3),
    Case("kd-kg-duplicate-triples", "kgrec_dir", "a KG triple listed twice",
         kgrec_dir(**{"kg.tsv": KD_KG + "0\t0\t5\n"}), "kg.tsv", "dropped 1 duplicate triples", repair=True),
    Case("kd-item-two-entities", "kgrec_dir", "an item linked to two entities",
         kgrec_dir(**{"item_entities.tsv": "0\t5\n0\t6\n"}), "item_entities.tsv",
         "linked to more than one entity"),
    Case("kd-bad-toml", "kgrec_dir", "a manifest that is not TOML",
         kgrec_dir(**{"kgrec.toml": KD_TOML.replace("num_items = 5", "num_items = = 5")}), "kgrec.toml",
         "invalid TOML"),
    Case("kd-manifest-missing-count", "kgrec_dir", "a manifest without num_users",
         kgrec_dir(**{"kgrec.toml": KD_TOML.replace("num_users = 6\n", "")}), "kgrec.toml",
         "num_users must be a positive integer"),
    # --- Last.FM HetRec layout
    Case("lf-non-numeric-id", "lastfm_hetrec", "an artist id that is not a number",
         lastfm(**{"user_artists.dat": LF_USERS.replace("3\t53\t1", "3\tabc\t1")}), "user_artists.dat",
         "'abc' is not an integer", line=5),
    Case("lf-too-few-columns", "lastfm_hetrec", "a row without its weight column",
         lastfm(**{"user_artists.dat": LF_USERS.replace("2\t52\t5", "2\t52")}), "user_artists.dat",
         "expected at least 3 columns, found 2", line=3),
    Case("lf-header-only", "lastfm_hetrec", "user_artists.dat with only its header",
         lastfm(**{"user_artists.dat": "userID\tartistID\tweight\n"}), "user_artists.dat", "no rows"),
    Case("lf-empty-file", "lastfm_hetrec", "an empty item index",
         lastfm(**{"item_index2entity_id.txt": ""}), "item_index2entity_id.txt", "no rows"),
    Case("lf-artist-listed-twice", "lastfm_hetrec", "an artist twice in the item index",
         lastfm(**{"item_index2entity_id.txt": LF_INDEX + "52\t7\n"}), "item_index2entity_id.txt",
         "artist 52 is listed twice", line=5),
    Case("lf-no-linked-artist", "lastfm_hetrec", "no interaction with an indexed artist",
         lastfm(**{"item_index2entity_id.txt": "99\t0\n98\t1\n"}), "user_artists.dat",
         "no rows with an artist listed"),
    Case("lf-duplicate-rows", "lastfm_hetrec", "a user-artist row listed twice",
         lastfm(**{"user_artists.dat": LF_USERS + "2\t51\t3\n"}), "user_artists.dat",
         "dropped 1 duplicate", repair=True),
    Case("lf-friend-self-loop", "lastfm_hetrec", "a user befriending itself",
         lastfm(**{"user_friends.dat": LF_FRIENDS + "6\t6\n"}), "user_friends.dat",
         "dropped 1 social self-loops", repair=True),
    Case("lf-kg-not-linked", "lastfm_hetrec", "a KG that never mentions an artist's entity",
         lastfm(**{"kg.txt": "10\tgenre\t11\n11\tgenre\t12\n"}), "kg.txt", "does not link to the items"),
    Case("lf-kg-wrong-columns", "lastfm_hetrec", "a KG row with 2 columns",
         lastfm(**{"kg.txt": LF_KG + "3\tgenre\n"}), "kg.txt", "expected 3 columns, found 2", line=5),
    Case("lf-latin1", "lastfm_hetrec", "a latin-1 byte in the KG",
         lastfm(**{"kg.txt": LF_KG.encode() + "0\tg\xe9nre\t4\n".encode("latin-1")}), "kg.txt",
         "not UTF-8", line=5),
    Case("lf-missing-index", "lastfm_hetrec", "the item index missing (format forced)",
         lastfm(**{"item_index2entity_id.txt": None}), "item_index2entity_id.txt", "missing",
         force_format=True),
    # --- DiffKG release (pickled scipy.sparse + kg.txt)
    Case("dk-truncated-pickle", "diffkg", "a truncated trnMat.pkl",
         diffkg(**{"trnMat.pkl": TRUNCATED_COO}), "trnMat.pkl", "truncated"),
    Case("dk-garbage-pickle", "diffkg", "binary garbage as trnMat.pkl",
         diffkg(**{"trnMat.pkl": GARBAGE}), "trnMat.pkl", "not a readable pickle"),
    Case("dk-not-a-matrix", "diffkg", "a pickled list instead of a sparse matrix",
         diffkg(**{"trnMat.pkl": _pkl([[0, 1], [1, 0]])}), "trnMat.pkl", "expected a pickled scipy.sparse"),
    Case("dk-dense-array", "diffkg", "a pickled dense array instead of a sparse matrix",
         diffkg(**{"tstMat.pkl": _pkl(np.eye(5, 4))}), "tstMat.pkl", "expected a pickled scipy.sparse"),
    Case("dk-shape-mismatch", "diffkg", "test matrix of another shape than train",
         diffkg(**{"tstMat.pkl": _pkl(_coo(TEST_PAIRS, (5, 5)))}), "tstMat.pkl", "differs from"),
    Case("dk-empty-train", "diffkg", "a training matrix with no nonzero",
         diffkg(**{"trnMat.pkl": _pkl(_coo([], SHAPE))}), "trnMat.pkl", "no interactions"),
    Case("dk-negative-index", "diffkg", "a sparse matrix holding a negative row index",
         diffkg(**{"trnMat.pkl": _pkl(_coo_with(TRAIN_PAIRS, SHAPE, row=-1))}), "trnMat.pkl",
         "malformed sparse matrix (negative axis 0 index: -1)"),
    Case("dk-index-beyond-shape", "diffkg", "a sparse matrix holding a column index beyond its shape",
         diffkg(**{"tstMat.pkl": _pkl(_coo_with(TEST_PAIRS, SHAPE, col=4))}), "tstMat.pkl",
         "malformed sparse matrix (axis 1 index 4 exceeds"),
    Case("dk-kg-not-linked", "diffkg", "a KG among non-item entities only",
         diffkg(**{"kg.txt": "4 0 5\n5 1 6\n"}), "kg.txt", "does not link to the items"),
    Case("dk-kg-non-numeric", "diffkg", "a KG relation that is not a number",
         diffkg(**{"kg.txt": DK_KG + "1 r 4\n"}), "kg.txt", "'r' is not an integer", line=5),
    Case("dk-held-out-in-train", "diffkg", "a test pair that is also a training pair",
         diffkg(**{"tstMat.pkl": _pkl(_coo(TEST_PAIRS + [(0, 0)], SHAPE))}), "tstMat.pkl",
         "also training pairs", repair=True),
    Case("dk-missing-kg", "diffkg", "kg.txt missing (format forced)",
         diffkg(**{"kg.txt": None}), "kg.txt", "missing", force_format=True),
    # --- DiffMM release (pickled scipy.sparse + <modality>_feat.npy)
    Case("dm-features-wrong-rows", "diffmm", "image features for fewer items than the matrices have",
         diffmm(**{"image_feat.npy": _npy(np.ones((3, 3), np.float32))}), "image_feat.npy",
         "has 3 rows, expected one per item"),
    Case("dm-features-nan", "diffmm", "a NaN in the features",
         diffmm(**{"image_feat.npy": _npy(np.array([[1, 2], [np.nan, 0], [1, 1], [0, 0]], np.float32))}),
         "image_feat.npy", "non-finite"),
    Case("dm-features-object-npy", "diffmm", "features as a pickled object .npy",
         diffmm(**{"image_feat.npy": _npy(_object_array()[:4], allow_pickle=True)}), "image_feat.npy",
         "not a numeric .npy array"),
    Case("dm-valid-shape-mismatch", "diffmm", "valMat.pkl of another shape",
         diffmm(**{"valMat.pkl": _pkl(_coo(VALID_PAIRS, (6, 4)))}), "valMat.pkl", "differs from"),
    Case("dm-truncated-pickle", "diffmm", "a truncated tstMat.pkl",
         diffmm(**{"tstMat.pkl": TRUNCATED_COO}), "tstMat.pkl", "truncated"),
    # --- RecDiff release (one pickled dict)
    Case("rd-truncated-pickle", "recdiff", "a truncated dataset.pkl",
         recdiff_bytes(_pkl(_recdiff_dict())[:200]), "dataset.pkl", "truncated"),
    Case("rd-not-a-dict", "recdiff", "a pickled list",
         recdiff_bytes(_pkl([1, 2, 3])), "dataset.pkl", "expected a pickled dict"),
    Case("rd-missing-key", "recdiff", "no trust matrix",
         recdiff(trust=None), "dataset.pkl", "missing key(s) trust"),
    Case("rd-wrong-shape", "recdiff", "train shaped unlike userCount x itemCount",
         recdiff(train=_coo(TRAIN_PAIRS, (5, 5))), "dataset.pkl", "train has shape (5, 5)"),
    Case("rd-bad-count", "recdiff", "userCount that is not a positive integer",
         recdiff(userCount=0), "dataset.pkl", "userCount must be a positive integer"),
    Case("rd-trust-self-loop", "recdiff", "a user who trusts itself",
         recdiff(trust=_coo([(0, 1), (2, 2)], (5, 5))), "dataset.pkl", "dropped 1 social self-loops",
         repair=True),
    Case("rd-index-beyond-shape", "recdiff", "a trust index beyond the matrix",
         recdiff(trust=_coo_with([(0, 1), (1, 2)], (5, 5), col=7)), "dataset.pkl",
         "malformed sparse trust (axis 1 index 7 exceeds"),
    # --- FilmTrust
    Case("ft-non-numeric", "filmtrust", "a rating row with a word for a user",
         filmtrust(**{"ratings.txt": FT_RATINGS.replace("2 3 1.0", "bob 3 1.0")}), "ratings.txt",
         "'bob' is not an integer", line=4),
    Case("ft-too-few-columns", "filmtrust", "a trust row with 1 column",
         filmtrust(**{"trust.txt": FT_TRUST + "4\n"}), "trust.txt", "expected at least 3 columns", line=4),
    Case("ft-empty-ratings", "filmtrust", "an empty ratings.txt",
         filmtrust(**{"ratings.txt": ""}), "ratings.txt", "no rows"),
    Case("ft-trust-unknown-user", "filmtrust", "trust naming a user with no ratings",
         filmtrust(**{"trust.txt": FT_TRUST + "4 9 1\n"}), "trust.txt", "dropped 1 of 4 trust links",
         repair=True),
    # --- RecBole atomic files
    Case("rb-missing-field", "recbole", "an .inter header without item_id",
         recbole(**{"data.inter": RB_INTER.replace("item_id:token", "song:token")}), "data.inter",
         "header has no item_id:token", line=1),
    Case("rb-wrong-field-count", "recbole", "a row with a missing field",
         recbole(**{"data.inter": RB_INTER.replace("u1\ti2\t1.0", "u1\ti2")}), "data.inter",
         "expected 3 tab-separated fields, found 2", line=5),
    Case("rb-empty", "recbole", "an empty .inter", recbole(**{"data.inter": ""}), "data.inter",
         "empty file"),
    # --- MMRec layout
    Case("mm-features-wrong-rows", "mmrec", "features for fewer items than the ids name",
         mmrec(**{"image_feat.npy": _npy(np.ones((2, 3), np.float32))}), "image_feat.npy",
         "expected one per item"),
    Case("mm-non-integer-item", "mmrec", "an item id that is not an integer",
         mmrec(**{"data.inter": MM_INTER.replace("1\t2\t0", "1\tx2\t0")}), "data.inter",
         "item id 'x2' is not a non-negative integer", line=5),
]


def write_corpus(out: Path) -> None:
    for case in CASES:
        case.write(out / case.id)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad-inputs")
    write_corpus(target)
    print(f"wrote {len(CASES)} cases under {target}")
