"""Build the customer-service demo: questions with reference answers, and an ONNX answer model.

The model is a retrieval-style assistant: a TF-IDF + logistic-regression classifier exported to
ONNX whose *label is the answer text* it replies with. The evaluation set pairs each customer
question with a reference answer written differently from the model's canned answer, so the
suite's BERTScore measures semantic fidelity, not string equality. Fixed seeds make reruns
byte-identical.

Usage: python scripts/build_customer_service_demo.py [--out-root PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from onnx_tools import finish_model

EVALUATION_SEED, TRAINING_SEED = 20261124, 3
EVALUATION_ROWS, TRAINING_ROWS = 400, 3000

INTENTS: dict[str, dict[str, list[str] | str]] = {
    "reset_password": {
        "questions": [
            "how do i reset my password",
            "i forgot my password",
            "can't log in, password not working",
            "need to change my password",
            "password reset link not arriving",
        ],
        "answer": (
            "You can reset your password from the sign-in page: "
            "choose 'Forgot password' and follow the link we email you."
        ),
        "references": [
            "Use 'Forgot password' on the login page and open the reset link sent to your email.",
            "Go to the sign-in screen, pick 'Forgot password', then follow the emailed link to set a new one.",
        ],
    },
    "refund_status": {
        "questions": [
            "where is my refund",
            "when will i get my money back",
            "refund still not received",
            "how long do refunds take",
            "status of my refund please",
        ],
        "answer": "Refunds are sent to your original payment method within 5 business days of approval.",
        "references": [
            "Once approved, the refund reaches your original payment method within five business days.",
            "Your money goes back to the card you paid with, usually within 5 working days.",
        ],
    },
    "cancel_order": {
        "questions": [
            "cancel my order",
            "i want to cancel the order i just placed",
            "how can i cancel an order",
            "stop my order before it ships",
            "please cancel order",
        ],
        "answer": "You can cancel an order from 'My orders' as long as it has not shipped yet.",
        "references": [
            "Orders that have not shipped can be cancelled under 'My orders'.",
            "Open 'My orders' and cancel it there, provided it hasn't been dispatched.",
        ],
    },
    "track_delivery": {
        "questions": [
            "where is my package",
            "track my delivery",
            "my parcel is late",
            "when will my order arrive",
            "shipping status of my order",
        ],
        "answer": "Track your delivery with the tracking link in your shipping confirmation email.",
        "references": [
            "The shipping confirmation email has a tracking link that shows where your parcel is.",
            "Use the tracking link from the dispatch email to follow your package.",
        ],
    },
    "change_address": {
        "questions": [
            "change my delivery address",
            "i moved, update my address",
            "wrong shipping address on order",
            "how do i edit my address",
            "update address for delivery",
        ],
        "answer": "Update your delivery address under 'Account settings'; orders already shipped cannot be redirected.",
        "references": [
            "Edit the address in your account settings; parcels already on their way can't be rerouted.",
            "You can change it in 'Account settings', but shipped orders keep their original address.",
        ],
    },
    "damaged_item": {
        "questions": [
            "my item arrived broken",
            "received a damaged product",
            "the product is faulty",
            "item broken on arrival what do i do",
            "package was damaged",
        ],
        "answer": (
            "Sorry about that: send us a photo of the damaged item and we will ship a replacement free of charge."
        ),
        "references": [
            "Please share a picture of the damage and we'll send you a free replacement.",
            "We apologise; a photo of the broken item is enough for us to ship a new one at no cost.",
        ],
    },
    "cancel_subscription": {
        "questions": [
            "cancel my subscription",
            "stop my membership",
            "how do i end my plan",
            "unsubscribe from the monthly plan",
            "i don't want the subscription anymore",
        ],
        "answer": "You can cancel your subscription any time under 'Billing'; it stays active until the period ends.",
        "references": [
            "Cancel the plan in the Billing section whenever you like; it runs until the current period ends.",
            "Go to 'Billing' to end your membership; you keep access until the end of the paid period.",
        ],
    },
    "contact_support": {
        "questions": [
            "how can i talk to a person",
            "contact customer support",
            "phone number for support",
            "i need to speak to an agent",
            "is there live chat",
        ],
        "answer": "Our support team is available by live chat or phone every day from 8:00 to 20:00.",
        "references": [
            "You can reach an agent by chat or phone daily between 8 am and 8 pm.",
            "Live chat and phone support are open every day, 8:00 to 20:00.",
        ],
    },
}
PREFIXES = ["", "hi, ", "hello ", "please ", "quick question: ", "urgent: "]
SUFFIXES = ["", "?", " thanks", " asap", "!", " please"]


def generate(rows: int, seed: int) -> pd.DataFrame:
    """Customer questions (with greetings and noise words) and a reference answer for each."""
    rng = np.random.default_rng(seed)
    names = list(INTENTS)
    records = []
    for row in range(rows):
        intent = names[int(rng.integers(0, len(names)))]
        spec = INTENTS[intent]
        question = spec["questions"][int(rng.integers(0, len(spec["questions"])))]
        text = PREFIXES[int(rng.integers(0, len(PREFIXES)))] + question + SUFFIXES[int(rng.integers(0, len(SUFFIXES)))]
        reference = spec["references"][int(rng.integers(0, len(spec["references"])))]
        records.append(
            {"question_id": f"Q{row + 1:04d}", "question": text, "intent": intent, "reference_answer": reference}
        )
    return pd.DataFrame(records)


def train(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    """TF-IDF over words and bigrams, then logistic regression whose classes are the answer texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    answers = frame["intent"].map(lambda intent: INTENTS[intent]["answer"])
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"[a-z0-9']+", lowercase=True)),
            ("classifier", LogisticRegression(C=10.0, max_iter=2000)),
        ]
    )
    return pipeline.fit(frame["question"], answers)


def export(pipeline) -> bytes:  # type: ignore[no-untyped-def]
    """ONNX with input ``question`` string [N, 1]; outputs ``label`` (the answer text) and probabilities."""
    from onnx import helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    classifier = pipeline.named_steps["classifier"]
    options = {id(classifier): {"zipmap": False}, id(pipeline.named_steps["tfidf"]): {"tokenexp": r"[a-z0-9']+"}}
    model = convert_sklearn(
        pipeline, "customer-service", [("question", StringTensorType([None, 1]))], options=options, target_opset=17
    )
    for node in model.graph.node:  # lower-casing under the "C" locale: no language pack needed
        if node.op_type == "StringNormalizer":
            node.attribute.append(helper.make_attribute("locale", "C"))
    doc = "Customer-service answer model built by scripts/build_customer_service_demo.py."
    return finish_model(model, "customer-service", "scripts/build_customer_service_demo.py", doc)


def main() -> None:
    """Write datasets/customer_service/conversations.csv and models/customer_service.onnx."""
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().out_root
    evaluation = generate(EVALUATION_ROWS, EVALUATION_SEED)
    pipeline = train(generate(TRAINING_ROWS, TRAINING_SEED))
    model = export(pipeline)
    (root / "datasets" / "customer_service").mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(parents=True, exist_ok=True)
    dataset_path = root / "datasets" / "customer_service" / "conversations.csv"
    dataset_path.write_text(evaluation.to_csv(index=False, lineterminator="\n"))
    (root / "models" / "customer_service.onnx").write_bytes(model)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    answers = session.run(["label"], {"question": evaluation[["question"]].to_numpy(object)})[0]
    expected = evaluation["intent"].map(lambda intent: INTENTS[intent]["answer"])
    agreement = (answers == pipeline.predict(evaluation["question"])).mean()
    print(f"right canned answer: {(answers == expected).mean():.4f}; ONNX vs scikit-learn agreement {agreement:.4f}")
    print(f"wrote {dataset_path} and {root / 'models' / 'customer_service.onnx'} ({len(model)} bytes)")


if __name__ == "__main__":
    main()
