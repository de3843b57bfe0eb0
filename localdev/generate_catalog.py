"""Deterministic synthetic products for scale tests and benchmarks.

    python -m localdev.generate_catalog 10000 --seed 7 > /tmp/catalog-10k.json

The same N and seed always give the same products. Word and attribute
frequencies do not depend on N, so a query matches the same *share* of the
catalog at every size: what changes with N is only how many products there are.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from typing import Any

SPECIES = {
    "dog": ["dog", "puppy", "hound"],
    "cat": ["cat", "kitten", "feline"],
    "fish": ["fish", "aquarium", "betta"],
    "bird": ["bird", "parrot", "budgie"],
    "small_animal": ["rabbit", "hamster", "guinea pig"],
    "reptile": ["reptile", "gecko", "tortoise"],
}
CATEGORIES = {
    "food": ["dry food", "wet food", "kibble", "pellets", "seed mix"],
    "treats": ["treats", "chews", "biscuits", "jerky", "sticks"],
    "toys": ["toy", "ball", "rope toy", "puzzle", "feather wand"],
    "beds": ["bed", "cushion", "hammock", "blanket", "nest"],
    "health": ["vitamins", "dental gel", "supplement", "probiotic", "ear cleaner"],
    "grooming": ["shampoo", "brush", "comb", "nail clipper", "wipes"],
    "habitats": ["cage", "terrarium", "tank", "hutch", "enclosure"],
    "accessories": ["collar", "leash", "bowl", "carrier", "water bottle"],
}
FLAVOURS = ["chicken", "salmon", "beef", "lamb", "turkey", "duck", "tuna", "veggie", "herb", "fruit"]
QUALITIES = [
    "organic",
    "grain-free",
    "deluxe",
    "compact",
    "orthopedic",
    "natural",
    "waterproof",
    "eco",
    "premium",
    "classic",
    "travel",
    "senior",
    "heavy-duty",
    "soft",
    "crème",
]
BRANDS = [
    "Pawsome",
    "Tailwind",
    "Fintastic",
    "Featherly",
    "Whiskerworks",
    "Scale & Co",
    "Burrow",
    "Northpaw",
    "Purrfect Day",
    "Reef Roots",
    "Nibble Nook",
    "Barkwell",
    "Lumo Pets",
    "Greenleaf Pet",
    "Tidewater",
    "Hopscotch",
    "Ember Reptile",
    "Cosy Critter",
    "Aviary Lane",
    "Kibbleworks",
]
SENTENCES = [
    "Made with {flavour} for {animal} that love real taste.",
    "A {quality} pick our customers buy again and again.",
    "Easy to clean and built to last through daily use.",
    "Vet-approved formula with balanced vitamins and minerals.",
    "Sized for {animal} of every age, from young to senior.",
    "Ships in recyclable packaging.",
    "Pairs well with our {other} range.",
]


def _product(i: int, rng: random.Random) -> dict[str, Any]:
    species = rng.choice(list(SPECIES))
    category = rng.choice(list(CATEGORIES))
    animal = rng.choice(SPECIES[species])
    kind = rng.choice(CATEGORIES[category])
    flavour = rng.choice(FLAVOURS)
    quality = rng.choice(QUALITIES)
    brand = rng.choice(BRANDS)
    taste = flavour.title() + " " if category in ("food", "treats") else ""
    name = f"{quality.title()} {taste}{animal.title()} {kind.title()}"
    description = " ".join(
        s.format(flavour=flavour, animal=animal + "s", quality=quality, other=rng.choice(CATEGORIES[category]))
        for s in rng.sample(SENTENCES, 3)
    )
    stock = 0 if rng.random() < 0.05 else rng.randint(1, 400)
    return {
        "id": f"gen-{i:07d}",
        "name": name,
        "description": description,
        "species": species,
        "category": category,
        "brand": brand,
        "price_cents": rng.randint(199, 19999),
        "currency": "USD",
        "stock": stock,
        "image": f"img/{category}.svg",
    }


def generate(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` products; product i is the same whatever ``count`` is."""
    for i in range(count):
        yield _product(i, random.Random(seed * 1_000_003 + i))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    json.dump(list(generate(args.count, args.seed)), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
