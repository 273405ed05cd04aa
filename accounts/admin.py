from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class CertLabUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "manufacturer", "is_active")
    list_filter = ("role", "manufacturer", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("CertLab role", {"fields": ("role", "manufacturer")}))
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("CertLab role", {"fields": ("role", "manufacturer")}),
    )
