"""A curated catalog of real Hugging Face hub datasets, one or more per task.

Each entry records the hub id, configuration, column mapping and the feature schema of
the dataset card, so ``DataConfig(dataset='sst2')`` works online unchanged, and the tests
check every entry offline against a local fixture with that same schema.

Schemas use a compact notation: ``'string'``, ``'int32'``, ``('class', names)``,
``('list', 'string')``, ``('list', ('class', names))``, ``('translation', langs)``.
Datasets that the hub still serves through a loading script are read from the hub's
automatic Parquet export (``revision='refs/convert/parquet'``).
"""

from __future__ import annotations

from dataclasses import dataclass

PARQUET = "refs/convert/parquet"
CONLL_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
WNUT_TAGS = ("O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work",
             "B-group", "I-group", "B-location", "I-location", "B-person", "I-person",
             "B-product", "I-product")
TREC_COARSE = ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    hub_id: str
    task: str
    description: str
    schema: dict
    name: str | None = None
    revision: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    target_column: str | None = None


CATALOG: dict[str, CatalogEntry] = {e.key: e for e in [
    CatalogEntry("sst2", "stanfordnlp/sst2", "classify",
                 "Stanford Sentiment Treebank, binary: 67k movie-review phrases (GLUE)",
                 {"idx": "int32", "sentence": "string",
                  "label": ("class", ("negative", "positive"))}),
    CatalogEntry("imdb", "stanfordnlp/imdb", "classify",
                 "IMDB: 25k + 25k long movie reviews, positive / negative",
                 {"text": "string", "label": ("class", ("neg", "pos"))}),
    CatalogEntry("rotten_tomatoes", "cornell-movie-review-data/rotten_tomatoes", "classify",
                 "Rotten Tomatoes: 10.7k one-sentence movie reviews, positive / negative",
                 {"text": "string", "label": ("class", ("neg", "pos"))}),
    CatalogEntry("ag_news", "fancyzhx/ag_news", "classify",
                 "AG News: 120k news headlines + descriptions in 4 topics",
                 {"text": "string",
                  "label": ("class", ("World", "Sports", "Business", "Sci/Tech"))}),
    CatalogEntry("emotion", "dair-ai/emotion", "classify",
                 "Emotion: 20k English tweets labelled with 6 emotions", {
                     "text": "string", "label": ("class", ("sadness", "joy", "love", "anger",
                                                           "fear", "surprise"))},
                 name="split"),
    CatalogEntry("trec", "CogComp/trec", "classify",
                 "TREC question classification: 5.5k questions, 6 coarse classes",
                 {"text": "string", "coarse_label": ("class", TREC_COARSE),
                  "fine_label": ("class", tuple(f"fine{i}" for i in range(50)))},
                 revision=PARQUET, label_column="coarse_label"),
    CatalogEntry("tiny_shakespeare", "karpathy/tiny_shakespeare", "lm",
                 "Tiny Shakespeare: 1.1M characters of plays, for character models",
                 {"text": "string"}, revision=PARQUET),
    CatalogEntry("wikitext2", "Salesforce/wikitext", "lm",
                 "WikiText-2 (raw): 2M words of Wikipedia good and featured articles",
                 {"text": "string"}, name="wikitext-2-raw-v1"),
    CatalogEntry("conll2003", "eriktks/conll2003", "tag",
                 "CoNLL-2003 English NER: Reuters news, PER / ORG / LOC / MISC in IOB2",
                 {"id": "string", "tokens": ("list", "string"),
                  "pos_tags": ("list", "int32"), "chunk_tags": ("list", "int32"),
                  "ner_tags": ("list", ("class", CONLL_TAGS))},
                 revision=PARQUET, label_column="ner_tags"),
    CatalogEntry("wnut17", "leondz/wnut_17", "tag",
                 "WNUT-17 emerging and rare entities in social media, 6 types in IOB2",
                 {"id": "string", "tokens": ("list", "string"),
                  "ner_tags": ("list", ("class", WNUT_TAGS))}, revision=PARQUET),
    CatalogEntry("multi30k", "bentrevett/multi30k", "seq2seq",
                 "Multi30k: 29k English-German image-caption pairs (WMT16 multimodal)",
                 {"en": "string", "de": "string"}, text_column="en", target_column="de"),
    CatalogEntry("opus_books_en_fr", "Helsinki-NLP/opus_books", "seq2seq",
                 "OPUS Books English-French: 127k aligned sentences from novels",
                 {"id": "string", "translation": ("translation", ("en", "fr"))},
                 name="en-fr", text_column="translation.en", target_column="translation.fr"),
]}
