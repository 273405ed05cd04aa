"""What a user sees when something is not there or goes wrong: CertLab's own pages, not Django's."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error


@pytest.fixture
def no_debug(settings):
    settings.DEBUG = False


def test_an_unknown_address_gets_certlabs_not_found_page(qa_client, no_debug):
    response = qa_client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in page and "Back to the start page" in page
    assert 'class="topbar"' in page  # the site's layout, with the navigation
    assert "css/certlab.css" in page


def test_a_server_error_gets_a_page_that_says_it_was_certlabs_fault(db, no_debug):
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "CertLab's side" in page and "css/certlab.css" in page


def test_every_page_names_an_icon_and_favicon_ico_leads_to_it(qa_client):
    home = qa_client.get(reverse("home")).content.decode()
    assert 'rel="icon"' in home and "img/favicon.svg" in home
    response = Client().get("/favicon.ico")  # asked for without a session, too
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")


def test_the_catalogue_page_shows_no_source_paths_and_no_manufacturer_names(vendor_client):
    page = vendor_client.get(reverse("campaigns:catalogue")).content.decode()
    for internal in ("shared/seeds", "campaigns/steps/", "Automated by", "verbatim"):
        assert internal not in page
    for other in ("Kempower", "HICONICS", "C502P320", "HK-180"):
        assert other not in page
    assert page.count("<tr><td>") == 16
