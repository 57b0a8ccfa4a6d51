"""The demo scenario: a silent prompt regression that dashboards cannot see.

``support-api`` is a customer-support backend that calls ``claude-haiku-4-5``
for six kinds of request (intents). For 60 days from 2026-01-05 it serves
about 5,000 requests a day. An LLM judge scores a 5% sample on format,
relevance and coherence (1-5); cheap checks score every answered request.
Three people label 400 of the judged requests on the same three dimensions
(``kind="human"`` rows, annotator ids ``annotator_1..3`` in ``scorer``), so
the judge can be calibrated: it agrees well with them on format and
coherence (0.1-0.15 points above them, from the ceiling of the scale) and
is lenient on relevance (about 0.4 points above them).

What happens (all times UTC; day 0 is 2026-01-05):

* **day 30, 10:15** - deployment ``v2.14.0`` of ``support-api`` (HTTP client
  and retry settings). It changes nothing about the answers.
* **days 0-59** - the share of ``answer_faq`` requests grows slowly from 10%
  to 25% of traffic. Its answers score lower on format than the others, so the
  overall format mean sags a little, but no intent gets worse: a mix shift,
  not a quality drop.
* **day 49 (2026-02-23), 14:02** - someone tidies the ``classify_ticket``
  prompt template and drops the line asking for a JSON object. No deployment
  is recorded and the prompt's version label stays ``v3``; only its hash
  changes. The new template rolls out over 90 minutes (both hashes serve in
  that time). From then on most classifications come back as prose: valid
  JSON falls from about 97% to about 20% and the judge's format score from
  about 4.4 to about 3.6. Latency, error rate, token counts and cost keep
  exactly the distributions they had before.

The ground truth is in ``load_demo().truth`` (:class:`DemoTruth`).

Run ``python -m llmdrift.datasets.demo --out data/demo`` to write the five
frames as Parquet (``spans``, ``contents``, ``scores``, ``deployments``) and
the truth as ``truth.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmdrift import checks as _checks
from llmdrift.schema import conform, validate
from llmdrift.tracing import template_hash

__all__ = ["Dataset", "DemoTruth", "load_demo", "write_demo", "PRICES_PER_MTOK"]

START = pd.Timestamp("2026-01-05 00:00", tz="UTC")
SERVICE = "support-api"
REQUEST_MODEL = "claude-haiku-4-5"
RESPONSE_MODEL = "claude-haiku-4-5-20251001"
PROVIDER = "anthropic"
JUDGE_MODEL = "claude-haiku-4-5"
JUDGE_RATE = 0.05
# people label a random subset of the judged requests on every judge dimension
HUMAN_LABELLED = 400
HUMAN_ANNOTATORS = ("annotator_1", "annotator_2", "annotator_3")
# chance that the judge scored one point above the truth, per dimension: it is
# lenient on relevance, nearly unbiased elsewhere
_JUDGE_BIAS = {"format": 0.03, "relevance": 0.30, "coherence": 0.05}
# chance that an annotator is one point off the truth
_ANNOTATOR_SLIP = 0.15
# numpy sub-streams ([seed, k]) of the generator
_SIDE_STREAM = 2
_HUMAN_STREAM = 3

PRICES_PER_MTOK = {
    "input": 1.00,
    "cache_read": 0.10,
    "cache_write": 1.25,
    "output": 5.00,
}
"""Fixed USD prices per million tokens used for ``reported_cost_usd``."""

CHANGE_DAY = 49
CHANGE_CLOCK = pd.Timedelta(hours=14, minutes=2)
ROLLOUT = pd.Timedelta(minutes=90)
DEPLOY_DAY = 30
DEPLOY_CLOCK = pd.Timedelta(hours=10, minutes=15)
CHANGED_INTENT = "classify_ticket"
MIX_INTENT = "answer_faq"
MIX_SHARE = (0.10, 0.25)
ERROR_RATE = 0.01
FLAG_RATE = 0.005

# judge score distributions over 1..5 (format depends on whether a JSON intent
# returned valid JSON; relevance and coherence only on the intent)
_P_FORMAT_JSON_OK = (0.00, 0.02, 0.06, 0.36, 0.56)
_P_FORMAT_JSON_BAD = (0.03, 0.15, 0.35, 0.35, 0.12)

# share of classify_ticket answers that are valid JSON / fenced JSON / prose,
# before and after the template change
_CLASSIFY_BEFORE = (0.97, 0.02, 0.01)
_CLASSIFY_AFTER = (0.20, 0.10, 0.70)


@dataclass(frozen=True)
class _Intent:
    name: str
    share: float  # share of traffic on day 0 (answer_faq: MIX_SHARE[0])
    json: bool
    latency_ms: float  # median of a lognormal
    input_tokens: int  # template tokens (the cacheable prefix)
    output_tokens: float  # mean
    p_format: tuple[float, ...]
    p_relevance: tuple[float, ...]
    p_coherence: tuple[float, ...]
    version: str


# fmt: off
_INTENTS = (
    _Intent('classify_ticket', 0.24, True, 620.0, 1450, 38.0,
            _P_FORMAT_JSON_OK,
            (0.01, 0.02, 0.08, 0.39, 0.5), (0.0, 0.01, 0.07, 0.42, 0.5), 'v3'),
    _Intent('extract_order', 0.16, True, 880.0, 1180, 72.0,
            _P_FORMAT_JSON_OK,
            (0.01, 0.03, 0.1, 0.4, 0.46), (0.0, 0.02, 0.08, 0.44, 0.46), 'v5'),
    _Intent('summarise_ticket', 0.2, False, 1350.0, 900, 115.0,
            (0.0, 0.02, 0.1, 0.42, 0.46),
            (0.01, 0.03, 0.12, 0.42, 0.42), (0.0, 0.02, 0.09, 0.45, 0.44), 'v2'),
    _Intent('draft_reply', 0.18, False, 2250.0, 1650, 210.0,
            (0.01, 0.03, 0.12, 0.43, 0.41),
            (0.01, 0.04, 0.13, 0.41, 0.41), (0.0, 0.02, 0.1, 0.44, 0.44), 'v7'),
    _Intent('translate_reply', 0.12, False, 1900.0, 700, 170.0,
            (0.0, 0.01, 0.08, 0.4, 0.51),
            (0.0, 0.02, 0.09, 0.41, 0.48), (0.0, 0.01, 0.08, 0.43, 0.48), 'v1'),
    _Intent('answer_faq', MIX_SHARE[0], False, 2600.0, 2100, 240.0,
            (0.03, 0.1, 0.3, 0.4, 0.17),
            (0.02, 0.05, 0.18, 0.4, 0.35), (0.01, 0.04, 0.15, 0.42, 0.38), 'v4'),
)
# fmt: on

# traffic by weekday (Mon..Sun) and by UTC hour
_WEEKDAY = np.array([1.12, 1.15, 1.12, 1.10, 1.00, 0.72, 0.69])
_HOURLY = np.array(
    [
        0.8,
        0.6,
        0.5,
        0.5,
        0.6,
        0.9,
        1.5,
        2.4,
        3.4,
        4.2,
        4.6,
        4.8,
        4.9,
        5.2,
        5.6,
        5.7,
        5.4,
        4.8,
        4.1,
        3.4,
        2.7,
        2.0,
        1.5,
        1.1,
    ]
)


# ---------------------------------------------------------------------------
# prompt templates (hash of each via llmdrift.tracing.template_hash)

_TEMPLATES = {
    "classify_ticket": (
        "You are the triage assistant of the Northwind Goods support desk.\n"
        "Classify the customer ticket below.\n"
        "- category: one of billing, shipping, account, technical, refund, other\n"
        "- priority: one of low, normal, high, urgent\n"
        "- sentiment: one of positive, neutral, negative\n"
        'Respond only with a JSON object with the keys "category", "priority" '
        'and "sentiment". Do not add any other text.\n'
        "\n"
        "Ticket:\n"
        "{ticket}\n"
    ),
    "extract_order": (
        "Extract the order details from the customer message below.\n"
        'Return a JSON object with the keys "order_id" (string or null), '
        '"product" (string or null) and "action" (one of refund, replacement, '
        "status, cancel, other). Return only the JSON object.\n"
        "\n"
        "Message:\n"
        "{ticket}\n"
    ),
    "summarise_ticket": (
        "Summarise the support ticket below for the agent who will pick it up.\n"
        "Use two or three plain sentences: what happened, what the customer "
        "wants, and anything already tried. Do not invent order details.\n"
        "\n"
        "Ticket:\n"
        "{ticket}\n"
    ),
    "draft_reply": (
        "You write replies for Northwind Goods customer support.\n"
        "Tone: warm, direct, no jargon. Address the customer by first name.\n"
        "Acknowledge the problem, say what happens next and by when, and sign "
        "off as Northwind Support. Never promise a refund the policy does not "
        "allow: refunds within 30 days of delivery, replacements within 90.\n"
        "\n"
        "Customer ticket:\n"
        "{ticket}\n"
    ),
    "translate_reply": (
        "Translate the support reply below into {language}. Keep names, order "
        "numbers and product names unchanged. Keep the tone friendly and the "
        "meaning exact.\n"
        "\n"
        "Reply:\n"
        "{ticket}\n"
    ),
    "answer_faq": (
        "Answer the customer's question using the Northwind Goods help centre "
        "articles provided in the context. If the articles do not cover it, say "
        "so and offer to connect the customer with an agent.\n"
        "\n"
        "Question:\n"
        "{ticket}\n"
    ),
}

# the cleanup of day 49: the JSON instruction is gone, the rest reworded
_CLASSIFY_NEW = (
    "You are the triage assistant of the Northwind Goods support desk.\n"
    "Read the customer ticket below and classify it by category (billing, "
    "shipping, account, technical, refund, other), priority (low, normal, high, "
    "urgent) and sentiment (positive, neutral, negative).\n"
    "\n"
    "Ticket:\n"
    "{ticket}\n"
)

_JUDGE_RUBRIC = (
    "Rate the assistant's answer on three dimensions, each from 1 (poor) to 5 "
    "(excellent): format (does it follow the output format the prompt asks "
    "for), relevance (does it address the request), coherence (is it clear and "
    "consistent). Reply with JSON: {format, relevance, coherence}."
)


# ---------------------------------------------------------------------------
# result objects


@dataclass(frozen=True)
class DemoTruth:
    """What really happened in the demo (the answers a detector should find).

    Attributes
    ----------
    change_time : pandas.Timestamp
        Start of the unannounced prompt change (first request that can get the
        new template), UTC.
    rollout_end : pandas.Timestamp
        From here on every request of ``intent`` uses the new template.
    intent, service, dimension : str
        Where the quality dropped (``dimension`` is "format").
    old_hash, new_hash : str
        Template hashes before and after (``prompt_hash`` in spans).
    deployment_time : pandas.Timestamp
        The announced deployment, which changed nothing.
    mix_shift_intent : str
        The intent whose share grows over the period (not a quality drop).
    mix_share_start, mix_share_end : float
        Its expected share of traffic on the first and last day.
    format_mean_before, format_mean_after : float
        Expected judge format mean of ``intent`` before and after (from the
        generator's probabilities, not from the sample).
    valid_json_before, valid_json_after : float
        Expected valid-JSON rate of ``intent`` before and after.
    start, end : pandas.Timestamp
        The period covered (end exclusive).
    seed, days, requests_per_day : int
        The generator's arguments.
    """

    change_time: pd.Timestamp
    rollout_end: pd.Timestamp
    intent: str
    old_hash: str
    new_hash: str
    dimension: str
    service: str
    deployment_time: pd.Timestamp
    mix_shift_intent: str
    mix_share_start: float
    mix_share_end: float
    format_mean_before: float
    format_mean_after: float
    valid_json_before: float
    valid_json_after: float
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    days: int
    requests_per_day: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (times as ISO 8601 strings)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, pd.Timestamp):
                out[key] = value.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoTruth:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        for key in ("change_time", "rollout_end", "deployment_time", "start", "end"):
            values[key] = pd.Timestamp(values[key]).tz_convert("UTC")
        return cls(**values)


@dataclass
class Dataset:
    """Frames of one dataset, as the rest of llmdrift takes them.

    Attributes
    ----------
    spans, contents, scores, deployments : pandas.DataFrame
        Frames following :mod:`llmdrift.schema`.
    truth : object or None
        Ground truth where the data is simulated (:class:`DemoTruth`).
    description : str
        What is real and what is simulated.
    answers : pandas.DataFrame or None
        For replayed public data: the source rows, one per real answer, that
        the spans were drawn from (spans carry ``source_row``).
    """

    spans: pd.DataFrame
    contents: pd.DataFrame
    scores: pd.DataFrame
    deployments: pd.DataFrame
    truth: Any = None
    description: str = field(default="", repr=False)
    answers: pd.DataFrame | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Dataset(spans={len(self.spans):,} rows, contents="
            f"{len(self.contents):,}, scores={len(self.scores):,}, "
            f"deployments={len(self.deployments)})"
        )


# ---------------------------------------------------------------------------
# text pools

# fmt: off
_NAMES = ['Maria', 'James', 'Aiko', 'Oluwaseun', 'Lena', 'Carlos', 'Priya', 'Tom',
          'Fatima', 'Noah', 'Ingrid', 'Wei', 'Sofia', 'Daniel', 'Amara', 'Lukas']
_PRODUCTS = ['wireless earbuds', 'standing desk', 'coffee grinder', 'running shoes',
             '27-inch monitor', 'hiking backpack', 'air fryer', 'desk lamp', 'yoga mat',
             'mechanical keyboard', 'baby monitor', 'water bottle']
_CATEGORIES = ('billing', 'shipping', 'account', 'technical', 'refund', 'other')
_ISSUES = {'billing': ['I was charged twice for order {oid}.',
                       'My invoice for order {oid} shows the wrong amount.',
                       'Why was my card charged again for the {product}?'],
           'shipping': ['Order {oid} still has not arrived after ten days.',
                        'Tracking for my {product} has not updated since Monday.',
                        'The courier says order {oid} was delivered but it was not.'],
           'account': ['I cannot log in to my account since the password reset.',
                       'Please change the email address on my account.',
                       'My account was locked after I updated my address.'],
           'technical': ['The app crashes whenever I open my order history.',
                         'The {product} will not pair with my phone.',
                         'Checkout fails with an error on the payment page.'],
           'refund': ['I would like a refund for the {product} from order {oid}.',
                      'I returned the {product} two weeks ago and have no refund yet.',
                      'The {product} arrived broken, I want my money back.'],
           'other': ['Do you ship to Canada and how long does it take?',
                     'Can I change the colour of the {product} before it ships?',
                     'Is the {product} available in a larger size?']}
_OPENERS = {'negative': ['This is really frustrating.', 'I am very disappointed.',
                         'Honestly this is the third time I am writing.'],
            'neutral': ['Hello,', 'Hi there,', 'Good morning,'],
            'positive': ['Hi team, thanks for the quick help last time.',
                         'Hello! Love your products.', 'Hi, hope you are well.']}
_URGENCY = {'low': 'No rush.',
            'normal': '',
            'high': 'Please look at this soon.',
            'urgent': 'I need this fixed today, it is urgent.'}
_ACTIONS = {'billing': 'other',
            'shipping': 'status',
            'account': 'other',
            'technical': 'other',
            'refund': 'refund',
            'other': 'other'}
_LANGUAGES = {
    "Spanish": "Hola {name}, gracias por escribirnos. Hemos revisado tu pedido "
               "{oid} y te enviaremos una actualización en 24 horas. Un saludo, "
               "el equipo de Northwind.",
    "German": "Hallo {name}, danke für Ihre Nachricht. Wir haben Ihre Bestellung "
              "{oid} geprüft und melden uns innerhalb von 24 Stunden. Viele Grüße, "
              "Ihr Northwind-Team.",
    "French": "Bonjour {name}, merci pour votre message. Nous avons vérifié votre "
              "commande {oid} et reviendrons vers vous sous 24 heures. "
              "Cordialement, l'équipe Northwind.",
    "Japanese": "{name}様、お問い合わせありがとうございます。"
                "ご注文{oid}を確認し、24時間以内にご連絡いたします。"
                "Northwindサポート",
}
_FAQ = [
    ("How do I return an item?",
     "You can return most items within 30 days of delivery. Start the return "
     "from Orders > Return an item, print the label and drop the parcel at any "
     "partner point. Refunds reach your card 3-5 working days after we receive "
     "the parcel."),
    ("Do you ship internationally?",
     "Yes, we ship to 34 countries. Delivery outside the EU takes 5-9 working "
     "days and import duties may apply; the checkout shows the total before you "
     "pay."),
    ("How do I change my delivery address?",
     "If the order has not shipped yet you can edit the address under Orders > "
     "Details. Once it has shipped, contact the courier with your tracking "
     "number, or reply here and an agent will help."),
    ("What does the warranty cover?",
     "Electronics carry a two-year warranty against manufacturing faults. It "
     "does not cover accidental damage or wear. Keep your order number; we may "
     "ask for a photo of the fault."),
    ("Can I pay in instalments?",
     "Orders above 100 EUR can be split into three interest-free payments at "
     "checkout. The first payment is taken when the order ships."),
]
_FAQ_REFUSAL = ("I'm sorry, but I can't help with orders placed with other retailers. "
                'Please contact the shop where you bought it.')
# fmt: on


def _ticket_pool(rng: np.random.Generator, size: int) -> pd.DataFrame:
    """Ticket texts with their true attributes (category, priority, ...)."""
    rows = []
    priorities = ("low", "normal", "high", "urgent")
    sentiments = ("positive", "neutral", "negative")
    for _ in range(size):
        category = _CATEGORIES[rng.integers(len(_CATEGORIES))]
        sentiment = sentiments[rng.choice(3, p=[0.15, 0.45, 0.40])]
        priority = priorities[rng.choice(4, p=[0.15, 0.45, 0.28, 0.12])]
        name = _NAMES[rng.integers(len(_NAMES))]
        product = _PRODUCTS[rng.integers(len(_PRODUCTS))]
        oid = f"A-{rng.integers(10000, 99999)}"
        issue = _ISSUES[category][rng.integers(3)].format(oid=oid, product=product)
        opener = _OPENERS[sentiment][rng.integers(3)]
        text = " ".join(p for p in (opener, issue, _URGENCY[priority]) if p)
        rows.append(
            dict(
                text=f"{text}\n{name}",
                category=category,
                sentiment=sentiment,
                priority=priority,
                name=name,
                product=product,
                oid=oid,
            )
        )
    return pd.DataFrame(rows)


def _classify_outputs(t: dict) -> tuple[str, str, str, str]:
    """(compact JSON, pretty JSON, fenced JSON, prose) for one ticket."""
    obj = {
        "category": t["category"],
        "priority": t["priority"],
        "sentiment": t["sentiment"],
    }
    compact = json.dumps(obj)
    pretty = json.dumps(obj, indent=2)
    fenced = f"```json\n{pretty}\n```"
    prose = (
        f"Category: {t['category']}. Priority: {t['priority']}. The customer "
        f"sounds {t['sentiment']}."
    )
    return compact, pretty, fenced, prose


def _extract_output(t: dict) -> tuple[str, str]:
    """(JSON, fenced JSON) for one ticket."""
    has_oid = t["oid"] in t["text"]
    has_product = t["product"] in t["text"]
    obj = {
        "order_id": t["oid"] if has_oid else None,
        "product": t["product"] if has_product else None,
        "action": _ACTIONS[t["category"]],
    }
    text = json.dumps(obj)
    return text, f"```json\n{json.dumps(obj, indent=2)}\n```"


def _prose_output(intent: str, t: dict, k: int) -> tuple[str, str]:
    """(input placeholder text, answer) for a prose intent."""
    if intent == "summarise_ticket":
        wants = {
            "refund": "a refund",
            "shipping": "an update on the delivery",
            "billing": "the charge corrected",
            "account": "access restored",
            "technical": "the fault fixed",
            "other": "an answer",
        }[t["category"]]
        answer = (
            f"{t['name']} writes about a {t['category']} problem"
            f"{' with the ' + t['product'] if t['product'] in t['text'] else ''}"
            f". They want {wants}. Priority looks {t['priority']}; "
            "nothing has been tried yet."
        )
        return t["text"], answer
    if intent == "draft_reply":
        answer = (
            f"Hi {t['name']},\n\nThank you for getting in touch, and sorry "
            f"for the trouble. I have looked into your {t['category']} "
            "request and passed it to the right team. You will hear from us "
            "within one working day with the next step.\n\nBest regards,\n"
            "Northwind Support"
        )
        return t["text"], answer
    if intent == "translate_reply":
        language = list(_LANGUAGES)[k % len(_LANGUAGES)]
        source = (
            f"Hi {t['name']}, thanks for writing to us. We have checked "
            f"your order {t['oid']} and will send you an update within 24 "
            "hours. Best, the Northwind team."
        )
        return (language, source), _LANGUAGES[language].format(
            name=t["name"], oid=t["oid"]
        )
    question, answer = _FAQ[k % len(_FAQ)]
    if k % 7 == 3:  # rambling answers with a heading: part of the low format
        answer = f"## {question}\n\n{answer}\n\n- See also: Returns and refunds\n"
    return question, answer


def _pools(rng: np.random.Generator, size: int = 240) -> dict[str, dict]:
    """Per intent: rendered inputs and answer variants, as object arrays."""
    tickets = _ticket_pool(rng, size).to_dict("records")
    pools: dict[str, dict] = {}
    for intent in _INTENTS:
        template = _TEMPLATES[intent.name]
        inputs, answers = [], []
        for k, t in enumerate(tickets):
            if intent.name == "classify_ticket":
                inputs.append(template.replace("{ticket}", t["text"]))
                answers.append(_classify_outputs(t))
            elif intent.name == "extract_order":
                inputs.append(template.replace("{ticket}", t["text"]))
                answers.append(_extract_output(t))
            else:
                source, answer = _prose_output(intent.name, t, k)
                if intent.name == "translate_reply":
                    language, source = source
                    rendered = template.replace("{language}", language)
                    inputs.append(rendered.replace("{ticket}", source))
                else:
                    inputs.append(template.replace("{ticket}", source))
                answers.append((answer,))
        pools[intent.name] = {
            "inputs": np.array(inputs, dtype=object),
            "answers": np.array(answers, dtype=object),
        }
    new_inputs = [_CLASSIFY_NEW.replace("{ticket}", t["text"]) for t in tickets]
    pools["classify_ticket"]["inputs_new"] = np.array(new_inputs, dtype=object)
    pools["answer_faq"]["refusal"] = _FAQ_REFUSAL
    return pools


# ---------------------------------------------------------------------------
# the generator


def _hex_ids(rng: np.random.Generator, n: int, n_bytes: int) -> np.ndarray:
    """n random lowercase hex ids of 2*n_bytes digits (vectorised)."""
    table = np.array([f"{i:02x}" for i in range(256)], dtype="<U2")
    raw = np.frombuffer(rng.bytes(n * n_bytes), dtype=np.uint8).reshape(n, n_bytes)
    return table[raw].view(f"<U{2 * n_bytes}").reshape(n).astype(object)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw 1..k per row of a (n, k) probability matrix (inverse CDF)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return 1 + (u[:, None] > cum).sum(axis=1)


def _shares(days: int) -> np.ndarray:
    """(days, 6) intent shares: answer_faq grows linearly, others shrink."""
    base = np.array([i.share for i in _INTENTS])
    mix = [i.name for i in _INTENTS].index(MIX_INTENT)
    frac = np.linspace(0.0, 1.0, days) if days > 1 else np.zeros(1)
    faq = MIX_SHARE[0] + (MIX_SHARE[1] - MIX_SHARE[0]) * frac
    others = np.delete(base, mix)
    others = others / others.sum()
    shares = np.empty((days, len(base)))
    shares[:, mix] = faq
    shares[:, np.arange(len(base)) != mix] = (1 - faq)[:, None] * others[None, :]
    return shares


def _human_labels(
    rng: np.random.Generator, judge: pd.DataFrame, *, n_judged: int
) -> pd.DataFrame:
    """Labels of three annotators on a random subset of the judged requests.

    Each labelled request and dimension has a latent true score: the judge's
    score moved by the judge's bias for that dimension (``_JUDGE_BIAS``: the
    probability that the judge scored one point above the truth) and by
    symmetric one-point noise. Each annotator reports the truth, one point off
    with probability ``_ANNOTATOR_SLIP`` (either way), within 1..5.
    """
    spans = judge["span_id"].iloc[:n_judged].to_numpy()
    n_label = min(HUMAN_LABELLED, n_judged)
    picked = np.sort(rng.choice(n_judged, size=n_label, replace=False))
    frames = []
    for d, dimension in enumerate(judge["dimension"].unique()):
        rows = judge.iloc[d * n_judged + picked]
        assert (rows["span_id"].to_numpy() == spans[picked]).all()
        judged = rows["value"].to_numpy()
        lenient = rng.random(n_label) < _JUDGE_BIAS[dimension]
        noise = rng.choice([-1, 0, 1], size=n_label, p=[0.12, 0.76, 0.12])
        truth = np.clip(judged - lenient + noise, 1, 5)
        for annotator in HUMAN_ANNOTATORS:
            slip = rng.choice(
                [-1, 0, 1],
                size=n_label,
                p=[_ANNOTATOR_SLIP / 2, 1 - _ANNOTATOR_SLIP, _ANNOTATOR_SLIP / 2],
            )
            frames.append(
                rows[["span_id", "trace_id", "time"]]
                .reset_index(drop=True)
                .assign(
                    dimension=dimension,
                    value=np.clip(truth + slip, 1, 5).astype(float),
                    scorer=annotator,
                    kind="human",
                    scorer_version=None,
                    inclusion_prob=JUDGE_RATE * n_label / n_judged,
                    error=None,
                )
            )
    if not frames:  # nothing judged (a very short demo): no labels, typed
        none = judge.iloc[:0]
        return none[["span_id", "trace_id", "time"]].assign(
            dimension=none["dimension"],
            value=none["value"].astype(float),
            scorer=none["scorer"],
            kind=none["kind"],
            scorer_version=None,
            inclusion_prob=none["value"].astype(float),
            error=None,
        )
    return pd.concat(frames, ignore_index=True)


def _generate(seed: int, days: int, requests_per_day: int) -> Dataset:
    rng = np.random.default_rng(seed)
    names = np.array([i.name for i in _INTENTS], dtype=object)

    # traffic: Poisson count per day with a weekday pattern
    start_day = START.day_of_week
    weekday = _WEEKDAY[(start_day + np.arange(days)) % 7]
    weekday = weekday / _WEEKDAY.mean()
    counts = rng.poisson(requests_per_day * weekday)
    day = np.repeat(np.arange(days), counts)
    n = len(day)

    # intents from the day's shares; time of day from the hourly profile
    cum = np.cumsum(_shares(days)[day], axis=1)
    intent_idx = (rng.random(n)[:, None] > cum[:, :-1]).sum(axis=1)
    hour = rng.choice(24, size=n, p=_HOURLY / _HOURLY.sum())
    offset_us = (hour * 3600 + rng.random(n) * 3600) * 1_000_000
    start_ns = (
        START.value
        + day.astype(np.int64) * 86_400_000_000_000
        + offset_us.astype(np.int64) * 1000
    )
    order = np.argsort(start_ns, kind="stable")
    day, intent_idx, start_ns = day[order], intent_idx[order], start_ns[order]
    intent = names[intent_idx]

    # the template change rolls out over ROLLOUT from change_time
    change_time = START + pd.Timedelta(days=CHANGE_DAY) + CHANGE_CLOCK
    since = (start_ns - change_time.value) / ROLLOUT.value
    changed = intent == CHANGED_INTENT
    new_template = changed & (rng.random(n) < np.clip(since, 0.0, 1.0))

    hashes = {i.name: template_hash(_TEMPLATES[i.name]) for i in _INTENTS}
    new_hash = template_hash(_CLASSIFY_NEW)
    prompt_hash = np.array([hashes[x] for x in names], dtype=object)[intent_idx]
    prompt_hash[new_template] = new_hash
    version = np.array([i.version for i in _INTENTS], dtype=object)[intent_idx]

    # status, latency, tokens, cost: never depend on the template. Known
    # shortcoming: input tokens are drawn per intent, not counted from the
    # rendered input_text, so a longer prompt does not cost more (pinned by
    # test_demo_input_tokens_track_the_prompt_text)
    is_error = rng.random(n) < ERROR_RATE
    error_kind = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    error_type = np.where(
        is_error,
        np.array(["overloaded_error", "rate_limit_error", "timeout"])[error_kind],
        None,
    ).astype(object)
    median = np.array([i.latency_ms for i in _INTENTS])[intent_idx]
    duration = median * np.exp(0.45 * rng.standard_normal(n))
    error_ms = np.array([300.0, 80.0, 60_000.0])[error_kind]
    error_ms = error_ms * np.exp(0.25 * rng.standard_normal(n))
    duration = np.where(is_error, error_ms, duration).round(3)

    prefix = np.array([i.input_tokens for i in _INTENTS])[intent_idx]
    variable_in = rng.negative_binomial(6, 6 / (6 + 140), size=n)
    input_tokens = prefix + 40 + variable_in
    cache_u = rng.random(n)
    cache_read = np.where(cache_u < 0.55, prefix, 0)
    cache_write = np.where((cache_u >= 0.55) & (cache_u < 0.57), prefix, 0)
    mean_out = np.array([i.output_tokens for i in _INTENTS])[intent_idx]
    output_tokens = 5 + rng.negative_binomial(8, 8 / (8 + mean_out))
    uncached = input_tokens - cache_read - cache_write
    cost = (
        uncached * PRICES_PER_MTOK["input"]
        + cache_read * PRICES_PER_MTOK["cache_read"]
        + cache_write * PRICES_PER_MTOK["cache_write"]
        + output_tokens * PRICES_PER_MTOK["output"]
    ) / 1e6
    flagged = ~is_error & (rng.random(n) < FLAG_RATE)

    def tokens(values: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.array(np.where(is_error, pd.NA, values), dtype="Int64")

    trace_id = _hex_ids(rng, n, 16)
    span_id = _hex_ids(rng, n, 8)
    start_time = pd.DatetimeIndex(start_ns.astype("datetime64[ns]")).tz_localize("UTC")
    spans = pd.DataFrame(
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "parent_span_id": None,
            "start_time": start_time,
            "end_time": start_time + pd.to_timedelta(duration, unit="ms"),
            "duration_ms": duration,
            "service": SERVICE,
            "operation": "chat",
            "span_kind": "llm",
            "provider": PROVIDER,
            "request_model": REQUEST_MODEL,
            "response_model": RESPONSE_MODEL,
            "intent": intent,
            "prompt_hash": prompt_hash,
            "prompt_version": version,
            "input_tokens": tokens(input_tokens),
            "output_tokens": tokens(output_tokens),
            "cache_read_tokens": tokens(cache_read),
            "cache_write_tokens": tokens(cache_write),
            "reasoning_tokens": pd.array([pd.NA] * n, dtype="Int64"),
            "cost_usd": pd.array(np.where(is_error, np.nan, cost), dtype="Float64"),
            "reported_cost_usd": pd.array(
                np.where(is_error, np.nan, cost), dtype="Float64"
            ),
            "status": np.where(is_error, "error", "ok").astype(object),
            "error_type": error_type,
            "finish_reason": np.where(is_error, None, "end_turn").astype(object),
            "flagged": flagged,
            "retrieval_score": pd.array([pd.NA] * n, dtype="Float64"),
        }
    )
    spans = conform(spans, "spans")

    # contents: inputs and answers drawn from per-intent pools
    pools = _pools(np.random.default_rng([seed, 1]))
    size = len(pools[CHANGED_INTENT]["inputs"])
    ticket = rng.integers(size, size=n)
    variant_u = rng.random(n)
    pretty_u = rng.random(n)
    input_text = np.empty(n, dtype=object)
    output_text = np.empty(n, dtype=object)
    json_ok = np.zeros(n, dtype=bool)
    for k, spec in enumerate(_INTENTS):
        rows = intent_idx == k
        pool = pools[spec.name]
        input_text[rows] = pool["inputs"][ticket[rows]]
        answers = pool["answers"][ticket[rows]]
        u = variant_u[rows]
        if spec.name == CHANGED_INTENT:
            new = new_template[rows]
            input_text[rows & new_template] = pool["inputs_new"][
                ticket[rows & new_template]
            ]
            p_ok = np.where(new, _CLASSIFY_AFTER[0], _CLASSIFY_BEFORE[0])
            p_fenced = np.where(new, _CLASSIFY_AFTER[1], _CLASSIFY_BEFORE[1])
            # valid: compact (80%) or pretty JSON; then fenced JSON; then prose
            pretty = pretty_u[rows] < 0.2
            out = np.where(
                u < p_ok,
                np.where(pretty, answers[:, 1], answers[:, 0]),
                np.where(u < p_ok + p_fenced, answers[:, 2], answers[:, 3]),
            )
            json_ok[rows] = u < p_ok
        elif spec.name == "extract_order":
            ok = u < 0.98
            out = np.where(ok, answers[:, 0], answers[:, 1])
            json_ok[rows] = ok
        else:
            out = answers[:, 0].copy()
            if spec.name == MIX_INTENT:
                out[u < 0.005] = pools[MIX_INTENT]["refusal"]
        output_text[rows] = out
    output_text[is_error] = None
    contents = conform(
        pd.DataFrame(
            {"span_id": span_id, "input_text": input_text, "output_text": output_text}
        ),
        "contents",
    )

    # judge scores on a 5% sample of answered requests
    judged = np.flatnonzero(~is_error & (rng.random(n) < JUDGE_RATE))
    jk = intent_idx[judged]
    p_format = np.array([i.p_format for i in _INTENTS])[jk]
    json_intent = np.array([i.json for i in _INTENTS])[jk]
    bad_json = json_intent & ~json_ok[judged]
    p_format[bad_json] = _P_FORMAT_JSON_BAD
    # relevance and coherence come from their own stream, so that they stay
    # independent of everything the prompt change touches
    side = np.random.default_rng([seed, _SIDE_STREAM])
    values = {
        "format": _categorical(rng, p_format),
        "relevance": _categorical(
            side, np.array([i.p_relevance for i in _INTENTS])[jk]
        ),
        "coherence": _categorical(
            side, np.array([i.p_coherence for i in _INTENTS])[jk]
        ),
    }
    m = len(judged)
    judge = pd.DataFrame(
        {
            "span_id": np.tile(span_id[judged], 3),
            "trace_id": np.tile(trace_id[judged], 3),
            "time": np.tile(start_time[judged], 3),
            "dimension": np.repeat(list(values), m).astype(object),
            "value": np.concatenate(list(values.values())).astype(float),
            "scorer": JUDGE_MODEL,
            "kind": "judge",
            "scorer_version": template_hash(_JUDGE_RUBRIC),
            "inclusion_prob": JUDGE_RATE,
            "error": None,
        }
    )

    # heuristic checks on every answered request (errored requests have no
    # answer to check); valid_json only where the prompt asks for JSON
    answered = ~is_error
    is_json = np.isin(intent, [i.name for i in _INTENTS if i.json])
    heuristic = [
        _checks.run_checks(
            contents[answered & is_json], [_checks.valid_json()], spans=spans
        ),
        _checks.run_checks(
            contents[answered],
            [
                _checks.length_within(min_chars=1, max_chars=1200),
                _checks.looks_like_refusal(),
            ],
            spans=spans,
        ),
    ]
    humans = _human_labels(
        np.random.default_rng([seed, _HUMAN_STREAM]),
        judge,
        n_judged=m,
    )
    # a very short demo may judge nothing: leave empty parts out of the concat
    parts = [part for part in (judge, humans, *heuristic) if len(part)]
    scores = conform(pd.concat(parts, ignore_index=True), "scores")
    scores = scores.sort_values(["time", "scorer", "dimension"], kind="stable")
    scores = scores.reset_index(drop=True)

    deployment_time = START + pd.Timedelta(days=DEPLOY_DAY) + DEPLOY_CLOCK
    deployments = conform(
        pd.DataFrame(
            {
                "time": pd.DatetimeIndex([deployment_time]),
                "service": [SERVICE],
                "version": ["v2.14.0"],
                "note": [
                    "HTTP client upgrade and retry settings; no prompt or model change"
                ],
            }
        ),
        "deployments",
    )

    p_ok = np.array(_P_FORMAT_JSON_OK) @ np.arange(1, 6)
    p_bad = np.array(_P_FORMAT_JSON_BAD) @ np.arange(1, 6)
    before, after = _CLASSIFY_BEFORE[0], _CLASSIFY_AFTER[0]
    shares = _shares(days)
    mix = [i.name for i in _INTENTS].index(MIX_INTENT)
    truth = DemoTruth(
        change_time=change_time,
        rollout_end=change_time + ROLLOUT,
        intent=CHANGED_INTENT,
        old_hash=hashes[CHANGED_INTENT],
        new_hash=new_hash,
        dimension="format",
        service=SERVICE,
        deployment_time=deployment_time,
        mix_shift_intent=MIX_INTENT,
        mix_share_start=float(shares[0, mix]),
        mix_share_end=float(shares[-1, mix]),
        format_mean_before=float(before * p_ok + (1 - before) * p_bad),
        format_mean_after=float(after * p_ok + (1 - after) * p_bad),
        valid_json_before=before,
        valid_json_after=after,
        start=START,
        end=START + pd.Timedelta(days=days),
        seed=seed,
        days=days,
        requests_per_day=requests_per_day,
    )
    return Dataset(spans, contents, scores, deployments, truth, __doc__ or "")


# ---------------------------------------------------------------------------
# public API

_FRAMES = ("spans", "contents", "scores", "deployments")


def load_demo(
    seed: int = 0,
    *,
    days: int = 60,
    requests_per_day: int = 5000,
    path: str | Path | None = None,
) -> Dataset:
    """The demo scenario: an unannounced prompt change that drops JSON format.

    Deterministic: the same arguments give identical frames. See the module
    docstring for the story; ``truth`` holds what a detector should find.

    Parameters
    ----------
    seed : int, default=0
        Seed of the generator (numpy ``default_rng``).
    days : int, default=60
        Days simulated from 2026-01-05. The change happens on day 49 and the
        deployment on day 30, so fewer than 50 days leave the change out.
    requests_per_day : int, default=5000
        Mean requests a day (weekdays get more, weekends fewer).
    path : str or Path, optional
        A folder written by :func:`write_demo` (``make lab`` writes
        ``data/demo``). When it holds a demo made with the same ``seed``,
        ``days`` and ``requests_per_day``, the frames are read from it
        (identical to generating them); otherwise they are generated.

    Returns
    -------
    Dataset
        ``spans`` (one llm span per request, all schema columns),
        ``contents`` (``span_id, input_text, output_text``; output <NA> for
        errored requests), ``scores`` (judge ``format``/``relevance``/
        ``coherence`` 1-5 with ``inclusion_prob`` 0.05; human labels of
        the same dimensions by three annotators on 400 judged requests;
        heuristic
        ``valid_json`` on the JSON intents, ``length_within`` and
        ``looks_like_refusal`` on every answered request),
        ``deployments`` (one row) and ``truth`` (:class:`DemoTruth`).

    Notes
    -----
    Token counts and latency are drawn per intent, independently of the
    prompt text, so that they stay unchanged across the template change by
    construction; ``input_tokens`` therefore does not track the length of
    ``input_text``. Costs use :data:`PRICES_PER_MTOK` (Haiku 4.5 list prices);
    errored requests have <NA> tokens and cost.

    Examples
    --------
    >>> demo = load_demo(days=3, requests_per_day=200)
    >>> sorted(demo.spans["intent"].unique())[:2]
    ['answer_faq', 'classify_ticket']
    >>> str(demo.truth.change_time)
    '2026-02-23 14:02:00+00:00'
    """
    for arg, value in (("days", days), ("requests_per_day", requests_per_day)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"load_demo: {arg} must be a positive int, got {value!r}")
    if path is not None:
        cached = _read(Path(path))
        if cached is not None and (
            cached.truth.seed,
            cached.truth.days,
            cached.truth.requests_per_day,
        ) == (seed, days, requests_per_day):
            return cached
    return _generate(int(seed), int(days), int(requests_per_day))


def write_demo(out: str | Path, demo: Dataset | None = None) -> Path:
    """Write a demo's frames as Parquet and its truth as JSON into ``out``.

    Parameters
    ----------
    out : str or Path
        Folder to write (created if absent): ``spans.parquet``,
        ``contents.parquet``, ``scores.parquet``, ``deployments.parquet``,
        ``truth.json``.
    demo : Dataset, optional
        What to write; default ``load_demo()``.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    demo = demo if demo is not None else load_demo()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _FRAMES:
        getattr(demo, name).to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "truth.json").write_text(json.dumps(demo.truth.to_dict(), indent=2))
    return folder


def _read(folder: Path) -> Dataset | None:
    """Read a folder written by :func:`write_demo`; None if incomplete."""
    files = [folder / f"{name}.parquet" for name in _FRAMES]
    truth_file = folder / "truth.json"
    if not truth_file.is_file() or not all(f.is_file() for f in files):
        return None
    truth = DemoTruth.from_dict(json.loads(truth_file.read_text()))
    frames = {}
    for name, file in zip(_FRAMES, files, strict=True):
        frames[name] = validate(conform(pd.read_parquet(file), name), name)
    return Dataset(truth=truth, description=__doc__ or "", **frames)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmdrift.datasets.demo",
        description="Write the llmdrift demo scenario as Parquet files.",
    )
    parser.add_argument("--out", default="data/demo", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--requests-per-day", type=int, default=5000)
    parser.add_argument(
        "--otlp",
        action="store_true",
        help="also write the spans with their prompts and answers as OTLP/JSON "
        "files (OUT/otlp/*.jsonl.gz) for `llmdrift ingest`",
    )
    args = parser.parse_args(argv)
    demo = load_demo(args.seed, days=args.days, requests_per_day=args.requests_per_day)
    folder = write_demo(args.out, demo)
    sys.stdout.write(f"wrote {demo!r} to {folder}\n")
    if args.otlp:
        files = write_demo_otlp(folder / "otlp", demo)
        sys.stdout.write(f"wrote {len(files)} OTLP/JSON files to {folder / 'otlp'}\n")
    return 0


def write_demo_otlp(out, demo: Dataset | None = None, *, per_file: int = 50_000):
    """Write a demo's spans, with prompts and answers, as OTLP/JSON files.

    The Collector file-exporter layout (one ``ExportTraceServiceRequest`` per
    line, 500 spans each, gzip), ``per_file`` spans per file in time order,
    so that ``llmdrift ingest OUT/*.jsonl.gz --store demo.duckdb`` loads the
    demo as it would load a service's traces. Scores and deployments are not
    traces and are not written (``llmdrift ingest`` scores the answers with
    the heuristic checks).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> demo = load_demo(days=10, requests_per_day=20)
    >>> files = write_demo_otlp(tempfile.mkdtemp(), demo)
    >>> import llmdrift
    >>> len(llmdrift.read_otlp(files)) == len(demo.spans)
    True
    """
    from llmdrift.ingest.export import frame_to_otlp_json, write_otlp_json

    demo = demo if demo is not None else load_demo()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    spans = demo.spans.sort_values("start_time", kind="stable")
    contents = demo.contents.set_index("span_id")
    files = []
    for k, first in enumerate(range(0, len(spans), per_file)):
        part = spans.iloc[first : first + per_file]
        path = folder / f"traces-{k:03d}.jsonl.gz"
        requests = (
            frame_to_otlp_json(
                part.iloc[i : i + 500],
                contents.loc[
                    contents.index.intersection(part["span_id"].iloc[i : i + 500])
                ].reset_index(),
                scope="llmdrift.datasets.demo",
            )
            for i in range(0, len(part), 500)
        )
        write_otlp_json(path, requests)
        files.append(path)
    return files


if __name__ == "__main__":
    raise SystemExit(_main())
