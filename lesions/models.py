"""Lesions and tumour assessments: the case report forms arrive with the CRF issue; the RECIST engine is in domain/."""
