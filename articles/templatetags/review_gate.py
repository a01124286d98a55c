"""{% review_gate as gate %}: the admin index's review gate (articles.admin.review_gate)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def review_gate(context):
    from articles.admin.review_gate import review_gate

    return review_gate(context["request"].user)
