{#- Every row satisfies a SQL condition, e.g. "occupied_rooms <= total_rooms". -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
