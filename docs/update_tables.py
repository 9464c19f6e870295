"""Rewrite the generated tables of the docs from the registries (run after adding a family).

    python docs/update_tables.py

The model-family tables of ``docs/zero_shot.md`` sit between
``<!-- families:start -->`` and ``<!-- families:end -->``;
``tests/test_backends_registry.py`` fails while they differ from
:func:`zsfuse.backends.families_markdown`.
"""

from pathlib import Path

from zsfuse.backends import families_markdown

START, END = "<!-- families:start -->", "<!-- families:end -->"


def main():
    path = Path(__file__).with_name("zero_shot.md")
    text = path.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n{families_markdown()}{END}{tail}")
    print(f"updated {path}")


if __name__ == "__main__":
    main()
