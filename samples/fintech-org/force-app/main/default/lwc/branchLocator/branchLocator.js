import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import POSTAL_CODE_FIELD from '@salesforce/schema/Contact.MailingPostalCode';
import COUNTRY_FIELD from '@salesforce/schema/Contact.MailingCountry';

// The bank's own branch directory (not an AI service).
const BRANCH_API = 'https://branches.northbank.eu/api/v2/nearest';

export default class BranchLocator extends LightningElement {
    @api recordId;
    branches = [];
    error;

    @wire(getRecord, { recordId: '$recordId', fields: [POSTAL_CODE_FIELD, COUNTRY_FIELD] })
    contact;

    async handleFind() {
        const postalCode = getFieldValue(this.contact.data, POSTAL_CODE_FIELD);
        const country = getFieldValue(this.contact.data, COUNTRY_FIELD);
        const url = `${BRANCH_API}?postalCode=${encodeURIComponent(postalCode)}&country=${encodeURIComponent(country)}&limit=3`;
        try {
            const response = await fetch(url, { headers: { Accept: 'application/json' } }); // ok: the bank's branch directory is not an LLM API
            this.branches = (await response.json()).branches;
            this.error = undefined;
        } catch (e) {
            this.error = e.message;
        }
    }
}
