"""The search benchmark's records: a library of generations as people build one, planned from a
fixed seed and written straight into moto in bulk.

Prompts draw their words from a fixed vocabulary with a Zipf-like distribution (a few words in
a large share of prompts, a long tail of rare ones), with English glue words between them; most
records also carry an expanded prompt (what Magic Prompt added). Records have 0-5 tags from a
tag vocabulary (Zipf-like too), a seed (one in ten from a small pool of favourite seeds, as
people reuse a seed they like), a model and rendering speed, a style, and a creation time
spread over twelve months (more in later months, as a library grows). Most are STORED, a few
UNSAFE or FAILED.

The plan is a single random stream, so the first N records of a larger plan are the records of
a plan of N: each table size holds the same records as the smaller ones, plus more. Records are
built by the product's own transitions (records.lifecycle: pending, answered, then stored,
unsafe or failed) and serialized by its model; their index items come from
records.index_items and the counter items from the counters the repository keeps.
"""

from __future__ import annotations

import hashlib
import inspect
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from bench.harness import BenchmarkError
from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram import GeneratedImage
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import COUNTER_PARTITION, CounterDeltas
from ideogram_assets.records.index_items import index_items, words_of
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import counted_state
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.search.words import STOPWORDS
from ideogram_assets.storage import StoredObject

PLAN_SEED = 20250101
FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)
MONTHS = 12
GLUE = ("a", "the", "of", "with", "in", "and", "at", "on", "by")

# The head of the vocabulary: words image prompts are made of, most frequent first.
COMMON_WORDS = [
    "portrait",
    "photo",
    "light",
    "detailed",
    "city",
    "night",
    "woman",
    "man",
    "cinematic",
    "style",
    "colorful",
    "street",
    "forest",
    "sky",
    "dark",
    "vintage",
    "neon",
    "golden",
    "soft",
    "sunset",
    "ocean",
    "mountain",
    "dramatic",
    "minimalist",
    "studio",
    "cat",
    "dog",
    "poster",
    "logo",
    "illustration",
    "watercolor",
    "futuristic",
    "abstract",
    "warm",
    "blue",
    "red",
    "green",
    "glowing",
    "fog",
    "rain",
    "snow",
    "desert",
    "river",
    "garden",
    "flower",
    "tree",
    "castle",
    "robot",
    "dragon",
    "astronaut",
    "spaceship",
    "planet",
    "moon",
    "star",
    "galaxy",
    "cyberpunk",
    "fantasy",
    "medieval",
    "ancient",
    "temple",
    "market",
    "cafe",
    "kitchen",
    "library",
    "window",
    "door",
    "bridge",
    "tower",
    "lighthouse",
    "harbor",
    "boat",
    "train",
    "car",
    "bicycle",
    "motorcycle",
    "road",
    "highway",
    "alley",
    "rooftop",
    "skyline",
    "sunrise",
    "dusk",
    "dawn",
    "storm",
    "cloud",
    "lightning",
    "wave",
    "beach",
    "island",
    "jungle",
    "cave",
    "waterfall",
    "lake",
    "meadow",
    "field",
    "farm",
    "village",
    "market",
    "festival",
    "lantern",
    "candle",
    "fire",
    "smoke",
    "crystal",
    "gem",
    "gold",
    "silver",
    "bronze",
    "marble",
    "glass",
    "paper",
    "wooden",
    "stone",
    "metal",
    "fabric",
    "silk",
    "velvet",
    "leather",
    "pattern",
    "texture",
    "geometric",
    "isometric",
    "pixel",
    "vector",
    "sketch",
    "charcoal",
    "ink",
    "oil",
    "acrylic",
    "pastel",
    "gouache",
    "mosaic",
    "stained",
    "collage",
    "retro",
    "pop",
    "art",
    "deco",
    "nouveau",
    "baroque",
    "gothic",
    "surreal",
    "whimsical",
    "cozy",
    "moody",
    "serene",
    "vibrant",
    "muted",
    "pastel",
    "monochrome",
    "sepia",
    "bokeh",
    "macro",
    "wide",
    "angle",
    "aerial",
    "closeup",
    "lowpoly",
    "render",
    "octane",
    "unreal",
    "volumetric",
    "rim",
    "backlit",
    "silhouette",
    "reflection",
    "shadow",
    "mist",
    "haze",
    "sparkle",
    "dust",
    "particles",
    "butterfly",
    "bird",
    "owl",
    "fox",
    "wolf",
    "bear",
    "horse",
    "whale",
    "jellyfish",
    "octopus",
    "koi",
    "tiger",
    "lion",
    "elephant",
    "rabbit",
    "deer",
    "mushroom",
    "cactus",
    "fern",
    "moss",
    "ivy",
    "rose",
    "tulip",
    "lotus",
    "cherry",
    "blossom",
    "maple",
    "autumn",
    "winter",
    "spring",
    "summer",
    "tea",
    "coffee",
    "cake",
    "bread",
    "fruit",
    "ramen",
    "sushi",
]
VOCABULARY_SIZE = 2400
WORD_EXPONENT = 1.05
TAGS = [
    "campaign",
    "social",
    "hero",
    "draft",
    "approved",
    "instagram",
    "banner",
    "product",
    "portrait",
    "landscape",
    "client-acme",
    "client-nova",
    "q1",
    "q2",
    "q3",
    "q4",
    "mood-board",
    "print",
    "web",
    "mobile",
    "email",
    "ad",
    "packaging",
    "merch",
    "archive",
    "favorite",
    "review",
    "final",
    "variant-a",
    "variant-b",
    "newsletter",
    "blog",
    "thumbnail",
    "avatar",
    "icon",
    "background",
    "pattern",
    "holiday",
    "launch",
    "event",
    "team-design",
    "team-brand",
]
TAG_EXPONENT = 1.0
TAG_COUNT_WEIGHTS = (25, 25, 20, 15, 10, 5)  # records with 0, 1, ... 5 tags
FAVOURITE_SEEDS = 40
FAVOURITE_SHARE = 0.1
MODELS = (("V_3", 0.55), ("V_2A", 0.2), ("V_2", 0.2), ("V_1", 0.05))
SPEEDS = {"V_3": ("TURBO", "BALANCED", "QUALITY", "DEFAULT"), "legacy": ("TURBO", "DEFAULT")}
STYLES = {
    "V_3": ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"),
    "legacy": ("AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME"),
}
ASPECT_RATIOS = ("1x1", "16x9", "9x16", "3x2", "2x3")
EXPANDED_SHARE = 0.7  # Magic Prompt rewrote the prompt
UNSAFE_SHARE = 0.02
FAILED_SHARE = 0.01
PRICE_USD = {"V_3": 0.06, "V_2A": 0.04, "V_2": 0.08, "V_1": 0.06}
# A rare word (a product or character name) in a fixed number of records, all among the first
# PLANTED_WITHIN: every table of at least that many records holds exactly the same matches, so
# the rare-word search returns the same pages at every size while the table around it grows.
PLANTED_WORD = "quillmarrow"
PLANTED_EVERY = 20
PLANTED_WITHIN = 1000


def vocabulary(size: int = VOCABULARY_SIZE, seed: int = PLAN_SEED) -> tuple[str, ...]:
    """The prompt vocabulary, most frequent first: real prompt words, then a tail of made-up
    words (names of places, products, characters: what people search for by a rare word)."""
    rng = random.Random(seed)
    onsets = [
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "j",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "z",
        "br",
        "cr",
        "dr",
        "gl",
        "pl",
        "st",
        "tr",
        "th",
        "sh",
    ]
    vowels = ["a", "e", "i", "o", "u", "ae", "io", "ou"]
    codas = ("", "", "n", "r", "l", "s", "x", "th")
    words = list(dict.fromkeys(COMMON_WORDS))
    taken = set(words) | STOPWORDS | {PLANTED_WORD}
    while len(words) < size:
        syllables = rng.randint(2, 3)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)) + rng.choice(codas)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return tuple(words)


class Zipf:
    """Draws from a ranked list: the word of rank r with weight 1 / r**exponent."""

    def __init__(self, ranked: Sequence[str], exponent: float) -> None:
        self.ranked = tuple(ranked)
        self._cumulative = list(accumulate(1 / rank**exponent for rank in range(1, len(ranked) + 1)))

    def draw(self, rng: random.Random, count: int) -> list[str]:
        return rng.choices(self.ranked, cum_weights=self._cumulative, k=count)


@dataclass(frozen=True)
class PlannedRecord:
    """One generation as planned: what was asked, what Ideogram answered, how it ended."""

    number: int
    prompt: str
    expanded_prompt: str | None
    tags: tuple[str, ...]
    seed: int
    model: str
    rendering_speed: str
    style_type: str | None  # asked (None: Ideogram chose)
    answered_style: str
    aspect_ratio: str
    created: datetime
    outcome: str  # STORED, UNSAFE or FAILED
    size_bytes: int

    @property
    def indexed(self) -> bool:
        return self.outcome in ("STORED", "UNSAFE")

    def words(self) -> list[str]:
        """The words the record is indexed under (records.index_items' own function)."""
        return words_of(self.prompt, self.expanded_prompt)


def _sentence(rng: random.Random, words: list[str]) -> str:
    """Words with glue words between some of them and a comma now and then."""
    parts: list[str] = []
    for position, word in enumerate(words):
        if position and rng.random() < 0.35:
            parts.append(rng.choice(GLUE))
        parts.append(word + ("," if rng.random() < 0.12 else ""))
    return " ".join(parts).rstrip(",")


def _created(rng: random.Random) -> datetime:
    """A moment in the twelve months, later months busier (a growing library)."""
    month = rng.choices(range(MONTHS), weights=[1 + 0.15 * month for month in range(MONTHS)])[0]
    start = datetime(FIRST_DAY.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)
    span = int((end - start).total_seconds() * 1000)
    return start + timedelta(milliseconds=rng.randrange(span))


def plan(count: int, seed: int = PLAN_SEED) -> Iterator[PlannedRecord]:
    """The first `count` records of the library (the same records for any larger count)."""
    rng = random.Random(seed)
    words = Zipf(vocabulary(), WORD_EXPONENT)
    tags = Zipf(TAGS, TAG_EXPONENT)
    favourites = [rng.randrange(1 << 31) for _ in range(FAVOURITE_SEEDS)]
    favourite_seeds = Zipf([str(favourite) for favourite in favourites], 1.0)
    models = [model for model, _ in MODELS]
    model_weights = [weight for _, weight in MODELS]
    for number in range(count):
        model = rng.choices(models, weights=model_weights)[0]
        family = "V_3" if model == "V_3" else "legacy"
        prompt = _sentence(rng, words.draw(rng, rng.randint(4, 10)))
        if number < PLANTED_WITHIN and number % PLANTED_EVERY == PLANTED_EVERY - 1:
            prompt = f"{prompt} {rng.choice(GLUE)} {PLANTED_WORD}"
        expanded = None
        if rng.random() < EXPANDED_SHARE:
            expanded = f"{prompt}. {_sentence(rng, words.draw(rng, rng.randint(6, 16))).capitalize()}."
        tag_count = rng.choices(range(len(TAG_COUNT_WEIGHTS)), weights=TAG_COUNT_WEIGHTS)[0]
        record_tags: set[str] = set()
        while len(record_tags) < tag_count:
            record_tags.update(tags.draw(rng, 1))
        asked_style = rng.choice((None, *STYLES[family])) if model != "V_1" else None  # V_1 takes no style
        draw = rng.random()
        outcome = (
            "UNSAFE" if draw < UNSAFE_SHARE else "FAILED" if draw < UNSAFE_SHARE + FAILED_SHARE else "STORED"
        )
        image_seed = (
            int(favourite_seeds.draw(rng, 1)[0]) if rng.random() < FAVOURITE_SHARE else rng.randrange(1 << 31)
        )
        yield PlannedRecord(
            number=number,
            prompt=prompt,
            expanded_prompt=expanded,
            tags=tuple(sorted(record_tags)),
            seed=image_seed,
            model=model,
            rendering_speed=rng.choice(SPEEDS[family]),
            style_type=asked_style,
            answered_style=asked_style
            if asked_style not in (None, "AUTO")
            else rng.choice(STYLES[family][1:]),
            aspect_ratio=rng.choice(ASPECT_RATIOS),
            created=_created(rng),
            outcome=outcome,
            size_bytes=rng.randint(900_000, 2_600_000),
        )


# -- records ----------------------------------------------------------------------------------


def _api_origin() -> dict[str, Any]:
    """A generation asked through the API, in the words of records.lifecycle.pending (an Origin
    since generations carry their trigger and correlation; a source and parent before)."""
    if "origin" in inspect.signature(lifecycle.pending).parameters:
        from ideogram_assets.generation.origin import Origin  # type: ignore[import-not-found,unused-ignore]

        return {"origin": Origin()}
    return {"source": "api", "parent_id": None}


class RecordBuilder:
    """Planned records as the generation service writes them (records.lifecycle), at their time."""

    def __init__(self, bucket: str, policy: RetentionPolicy) -> None:
        self.bucket = bucket
        self.policy = policy

    def spec(self, planned: PlannedRecord) -> GenerationSpec:
        return GenerationSpec.model_validate(
            {
                "prompt": planned.prompt,
                "model": planned.model,
                "rendering_speed": planned.rendering_speed,
                "style_type": planned.style_type,
                "aspect_ratio": planned.aspect_ratio,
                "tags": list(planned.tags),
            }
        )

    def pending(self, planned: PlannedRecord) -> GenerationRecord:
        spec = self.spec(planned)
        return lifecycle.pending(
            spec,
            request_id=uuid.uuid4().hex,
            index=0,
            created=planned.created,
            prompt_hash=prompt_hash(generate_params(spec)),
            bucket=self.bucket,
            retention_class="standard",
            origin=Origin(),
        )

    def image(self, planned: PlannedRecord, record: GenerationRecord) -> GeneratedImage:
        safe = planned.outcome != "UNSAFE"
        return GeneratedImage(
            url=f"https://ideogram.ai/api/images/ephemeral/{record.id}.png?exp=1" if safe else None,
            prompt=planned.expanded_prompt or planned.prompt,
            resolution="1024x1024",
            is_image_safe=safe,
            seed=planned.seed,
            style_type=planned.answered_style,
        )

    def stored_object(self, planned: PlannedRecord, record: GenerationRecord) -> StoredObject:
        assert record.bucket
        assert record.key
        digest = hashlib.sha256(record.id.encode()).hexdigest()
        return StoredObject(
            bucket=record.bucket,
            key=record.key,
            size_bytes=planned.size_bytes,
            sha256=digest,
            content_type="image/png",
            width=1024,
            height=1024,
            etag=f'"{digest[:32]}"',
            version_id=None,
        )

    def build(self, planned: PlannedRecord) -> GenerationRecord:
        record = self.pending(planned)
        answered_at = planned.created + timedelta(seconds=5)
        image = self.image(planned, record)
        lifecycle.apply(
            record,
            lifecycle.answered(
                record,
                image,
                url_expires_at=answered_at + timedelta(hours=1),
                cost_usd=PRICE_USD[planned.model],
                now=answered_at,
            ),
        )
        done_at = answered_at + timedelta(seconds=3)
        if planned.outcome == "STORED":
            stored = self.stored_object(planned, record)
            lifecycle.apply(record, lifecycle.stored(record, stored, done_at, self.policy))
        elif planned.outcome == "FAILED":
            failure = lifecycle.failed(record, "truncated", "the image download ended early", done_at)
            lifecycle.apply(record, failure)
        return record


def items_of(record: GenerationRecord) -> list[dict[str, Any]]:
    """The record as DynamoDB stores it, then its index items."""
    return [dict(record.serialize()), *index_items(record)]


class CounterItems:
    """The counter items of a table, as the repository's atomic ADDs would leave them."""

    def __init__(self) -> None:
        self._deltas = CounterDeltas()

    def add(self, record: GenerationRecord) -> None:
        self._deltas.change(None, counted_state(record))

    def items(self) -> list[dict[str, Any]]:
        return [
            {
                "PK": {"S": COUNTER_PARTITION},
                "SK": {"S": f"{name}#0"},
                **{field: {"N": str(value)} for field, value in fields.items()},
            }
            for name, fields in sorted(self._deltas.take().items())
        ]


# -- what the searches look for -----------------------------------------------------------------


@dataclass
class Frequencies:
    """How many records each word, tag, seed and (model, month) finds, in the first N records."""

    records: int = 0
    words: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    seeds: Counter[int] = field(default_factory=Counter)
    model_months: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, planned: PlannedRecord) -> None:
        self.records += 1
        self.seeds[planned.seed] += 1
        self.model_months[(planned.model, f"{planned.created:%Y-%m}")] += 1
        if planned.indexed:
            self.words.update(planned.words())
            self.tags.update(planned.tags)


def frequencies(records: Iterable[PlannedRecord], sizes: Sequence[int]) -> dict[int, Frequencies]:
    """Frequencies in each prefix of the plan (one pass)."""
    counted = {size: Frequencies() for size in sizes}
    for planned in records:
        for size, found in counted.items():
            if planned.number < size:
                found.add(planned)
    return counted


def closest(counts: Mapping[Any, int], target: float, eligible: Iterable[Any]) -> Any:
    """The eligible key whose count is closest to `target` (ties: the first in sorted order)."""
    candidates = sorted(eligible, key=str)
    if not candidates:
        raise BenchmarkError("the plan holds no candidate for a search")
    return min(candidates, key=lambda key: abs(counts[key] - target))


# -- loading --------------------------------------------------------------------------------------

BATCH_ITEMS = 25  # BatchWriteItem's limit
LOAD_THREADS = 4
IN_FLIGHT_BATCHES = 64


class BulkLoader:
    """BatchWriteItem, 25 items a request, several requests at once, for any number of tables.

    Items are sent as they are added (memory stays bounded); `close` waits for every request,
    retries what DynamoDB left unprocessed and raises if a request failed."""

    def __init__(self, client_factory: Any, threads: int = LOAD_THREADS) -> None:
        self._local = threading.local()
        self._client_factory = client_factory
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="bench-load")
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._futures: list[Future[None]] = []
        self.items_written: Counter[str] = Counter()
        self.requests = 0

    def _client(self) -> Any:
        if not hasattr(self._local, "client"):
            self._local.client = self._client_factory()
        return self._local.client

    def _write(self, table: str, items: list[dict[str, Any]]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in items]
        for _ in range(10):
            answer = self._client().batch_write_item(RequestItems={table: requests})
            requests = answer.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                return
        raise BenchmarkError("BatchWriteItem kept items unprocessed")

    def _submit(self, table: str, items: list[dict[str, Any]]) -> None:
        if len(self._futures) >= IN_FLIGHT_BATCHES:
            done = [future for future in self._futures if future.done()]
            for future in done or [self._futures[0]]:
                future.result()
                self._futures.remove(future)
        self._futures.append(self._pool.submit(self._write, table, items))
        self.items_written[table] += len(items)
        self.requests += 1

    def add(self, table: str, items: Iterable[dict[str, Any]]) -> None:
        batch = self._pending.setdefault(table, [])
        for item in items:
            batch.append(item)
            if len(batch) == BATCH_ITEMS:
                self._submit(table, batch)
                batch = self._pending[table] = []

    def close(self) -> None:
        try:
            for table, batch in self._pending.items():
                if batch:
                    self._submit(table, batch)
            self._pending.clear()
            for future in self._futures:
                future.result()
            self._futures.clear()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
