from django.apps import AppConfig


class LesionsConfig(AppConfig):
    name = "lesions"
    verbose_name = "Lesions and tumour assessments"
