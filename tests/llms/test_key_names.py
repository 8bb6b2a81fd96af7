from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena.llms.models import LanguageModel


def model_with_key(name: str) -> LanguageModel:
    return LanguageModel(name="m", provider="openai", model_id="gpt", api_key_env=name)


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "DATABASE_URL", "PATH", "openai_api_key", "_API_KEY"]
)
def test_a_model_cannot_name_a_variable_that_is_not_an_api_key(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        model_with_key(name).full_clean(exclude=["name"], validate_unique=False)
    assert "api_key_env" in error.value.message_dict


@pytest.mark.parametrize("name", ["", "OPENAI_API_KEY", "MY_VLLM_2_API_KEY"])
def test_a_model_may_name_an_api_key_variable_or_none(name: str) -> None:
    model_with_key(name).full_clean(exclude=["name"], validate_unique=False)
