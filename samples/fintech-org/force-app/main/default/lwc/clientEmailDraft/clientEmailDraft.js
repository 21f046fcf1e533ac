import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import FIRST_NAME_FIELD from '@salesforce/schema/Contact.FirstName';
import EMAIL_FIELD from '@salesforce/schema/Contact.Email';
import BIRTHDATE_FIELD from '@salesforce/schema/Contact.Birthdate';

// Pilot from the digital team: drafts the follow-up e-mail in the browser, straight from OpenAI.
const OPENAI_URL = 'https://api.openai.com/v1/chat/completions';
const MODEL = 'gpt-4o-mini';

export default class ClientEmailDraft extends LightningElement {
    @api recordId;
    /** Set in Lightning App Builder for the pilot users. */
    @api apiKey;
    draft;
    busy = false;

    @wire(getRecord, { recordId: '$recordId', fields: [FIRST_NAME_FIELD, EMAIL_FIELD, BIRTHDATE_FIELD] })
    contact;

    get firstName() {
        return getFieldValue(this.contact.data, FIRST_NAME_FIELD);
    }

    get canDraft() {
        return !this.busy && Boolean(this.contact.data);
    }

    async handleDraft() {
        this.busy = true;
        const email = getFieldValue(this.contact.data, EMAIL_FIELD);
        const birthdate = getFieldValue(this.contact.data, BIRTHDATE_FIELD);
        const prompt = `Write a short follow-up e-mail to ${this.firstName} <${email}> after our review meeting. ` +
            `Their birthday (${birthdate}) is next month: add a friendly line about it.`;
        try {
            const response = await fetch(OPENAI_URL, { // expect: APX-LLM-001, APX-LLM-006
                method: 'POST',
                headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.apiKey}` },
                body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: prompt }] })
            });
            const json = await response.json();
            this.draft = json.choices[0].message.content;
        } catch (error) {
            this.dispatchEvent(new ShowToastEvent({ title: 'Draft failed', message: error.message, variant: 'error' }));
        } finally {
            this.busy = false;
        }
    }
}
